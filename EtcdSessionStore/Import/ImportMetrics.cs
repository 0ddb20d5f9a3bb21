using System.Diagnostics.Metrics;

namespace Etcd.AspNetCore.Session.Import;

/// <summary>The import's instrument, on the store's meter (documented in docs/observability.md).</summary>
internal sealed class ImportMetrics
{
    private readonly Counter<long> _imports;

    public ImportMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(EtcdSessionInstrumentation.MeterName);
        _imports = meter.CreateCounter<long>("etcd.session.imports", "{session}",
            "Requests that came with the previous store's session cookie and no cookie of this store, by result (imported, missing, corrupt, rejected).");
    }

    public void Counted(ImportResult result) => _imports.Add(1, new KeyValuePair<string, object?>("result", result switch
    {
        ImportResult.Imported => "imported",
        ImportResult.Missing => "missing",
        ImportResult.Corrupt => "corrupt",
        _ => "rejected",
    }));
}
