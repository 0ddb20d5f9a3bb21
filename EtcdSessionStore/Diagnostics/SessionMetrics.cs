using System.Diagnostics.Metrics;

namespace Etcd.AspNetCore.Session.Diagnostics;

/// <summary>
/// The store's instruments, on a meter made by the app's <see cref="IMeterFactory"/> (so that each DI
/// container has its own). Names and tags are documented in docs/observability.md.
/// </summary>
internal sealed class SessionMetrics
{
    private readonly Counter<long> _loads;
    private readonly Counter<long> _commits;
    private readonly Counter<long> _merges;
    private readonly Counter<long> _rotations;
    private readonly Counter<long> _destroys;
    private readonly Counter<long> _errors;
    private readonly Histogram<double> _operationDuration;

    /// <summary>The bucket boundaries OpenTelemetry's database-client conventions advise for <c>db.client.operation.duration</c>.</summary>
    private static readonly double[] OperationDurationBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

    public SessionMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(EtcdSessionInstrumentation.MeterName);
        _loads = meter.CreateCounter<long>("etcd.session.loads", "{load}", "Sessions loaded from etcd, by result (found, not_found, expired, unreadable).");
        _commits = meter.CreateCounter<long>("etcd.session.commits", "{commit}", "Session writes that reached etcd, by kind (created, updated).");
        _merges = meter.CreateCounter<long>("etcd.session.merges", "{merge}", "Commits that met a concurrent write and re-applied their own changes.");
        _rotations = meter.CreateCounter<long>("etcd.session.rotations", "{rotation}", "Sessions moved to a new secret key.");
        _destroys = meter.CreateCounter<long>("etcd.session.destroys", "{session}", "Sessions destroyed (by the session itself or revoked).");
        _errors = meter.CreateCounter<long>("etcd.session.errors", "{error}", "Failures, by error.type (an EtcdSessionErrorKind).");
        _operationDuration = meter.CreateHistogram<double>(
            DatabaseConventions.OperationDuration, "s", "Duration of database client operations.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = OperationDurationBuckets });
    }

    public void Loaded(string result) => _loads.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Committed(bool created) => _commits.Add(1, new KeyValuePair<string, object?>("kind", created ? "created" : "updated"));

    public void Merged() => _merges.Add(1);

    public void Rotated() => _rotations.Add(1);

    public void Destroyed(int count) => _destroys.Add(count);

    public void Failed(EtcdSessionErrorKind kind) => _errors.Add(1, new KeyValuePair<string, object?>("error.type", KindName(kind)));

    /// <param name="operation">The etcd RPC: <c>Range</c>, <c>Txn</c>, ...</param>
    /// <param name="elapsed">How long the caller waited, retries included.</param>
    /// <param name="errorType">Why it failed (an <see cref="EtcdSessionErrorKind"/> name, or <c>cancelled</c>); <see langword="null"/> when it succeeded.</param>
    /// <param name="serverAddress">The host of the member of the last attempt (<c>server.address</c>).</param>
    /// <param name="serverPort">Its port (<c>server.port</c>).</param>
    /// <param name="statusCode">The gRPC status code of a failure, if etcd or gRPC gave one.</param>
    public void CallCompleted(string operation, TimeSpan elapsed, string? errorType, string? serverAddress, int? serverPort, string? statusCode)
    {
        if (_operationDuration.Enabled)
        {
            _operationDuration.Record(elapsed.TotalSeconds, DatabaseConventions.Tags(operation, errorType, serverAddress, serverPort, statusCode));
        }
    }

    public static string KindName(EtcdSessionErrorKind kind) => kind switch
    {
        EtcdSessionErrorKind.Unavailable => "unavailable",
        EtcdSessionErrorKind.Timeout => "timeout",
        EtcdSessionErrorKind.TooLarge => "too_large",
        EtcdSessionErrorKind.Conflict => "conflict",
        EtcdSessionErrorKind.CorruptData => "corrupt_data",
        EtcdSessionErrorKind.PermissionDenied => "permission_denied",
        _ => "etcd_error",
    };
}
