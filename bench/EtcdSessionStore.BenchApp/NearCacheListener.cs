using System.Diagnostics.Metrics;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Listens to the store's near-cache instruments by name (meter <c>Etcd.AspNetCore.Session</c>, instruments
/// <c>etcd.session.near_cache.*</c>), so that the benchmarks read hits, misses, bypasses, evictions, size,
/// entries and staleness without depending on the library's types. When the store has no near cache, no
/// such instrument is ever published and every snapshot says <see cref="NearCacheSnapshot.Available"/> false.
/// The evictions may be a counter or an observable counter; the staleness gauge may report NaN (no heartbeat yet),
/// which a snapshot gives as null.
/// </summary>
internal sealed class NearCacheListener : IDisposable
{
    public const string LookupsInstrument = "etcd.session.near_cache.lookups";
    public const string EvictionsInstrument = "etcd.session.near_cache.evictions";
    public const string SizeInstrument = "etcd.session.near_cache.size";
    public const string EntriesInstrument = "etcd.session.near_cache.entries";
    public const string StalenessInstrument = "etcd.session.near_cache.staleness";
    private const string InstrumentPrefix = "etcd.session.near_cache.";

    private readonly MeterListener _listener = new();
    private readonly object? _scope;
    private readonly Lock _gate = new();
    private bool _available;
    private long _hits, _misses, _bypasses, _evictions;
    private long? _sizeBytes, _entries;
    private double? _stalenessSeconds;

    /// <param name="scope">Only the meters of this scope (a service provider's <c>IMeterFactory</c>); null for every store in the process.</param>
    public NearCacheListener(object? scope = null)
    {
        _scope = scope;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EtcdSessionInstrumentation.MeterName
                && instrument.Name.StartsWith(InstrumentPrefix, StringComparison.Ordinal)
                && (_scope is null || ReferenceEquals(instrument.Meter.Scope, _scope)))
            {
                lock (_gate)
                {
                    _available = true;
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == StalenessInstrument)
            {
                lock (_gate)
                {
                    _stalenessSeconds = double.IsNaN(value) ? null : value; // NaN: no heartbeat seen yet
                }
            }
        });
        _listener.Start();
    }

    /// <summary>The counters so far and the gauges as of now (observable instruments are read by this call).</summary>
    public NearCacheSnapshot Snapshot()
    {
        _listener.RecordObservableInstruments();
        lock (_gate)
        {
            return new NearCacheSnapshot(_available, _hits, _misses, _bypasses, _evictions, _sizeBytes, _entries, _stalenessSeconds);
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_gate)
        {
            switch (instrument.Name)
            {
                case LookupsInstrument:
                    switch (ResultOf(tags))
                    {
                        case "hit": _hits += value; break;
                        case "miss": _misses += value; break;
                        default: _bypasses += value; break;
                    }

                    break;
                // An observable counter reports its running total; a plain counter, each increment.
                case EvictionsInstrument when instrument.IsObservable: _evictions = value; break;
                case EvictionsInstrument: _evictions += value; break;
                case SizeInstrument: _sizeBytes = value; break;
                case EntriesInstrument: _entries = value; break;
            }
        }
    }

    private static string? ResultOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "result")
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}
