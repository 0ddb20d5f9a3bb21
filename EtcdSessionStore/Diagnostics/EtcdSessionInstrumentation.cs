using System.Diagnostics;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// Names of the store's metrics and traces, for <c>AddMeter(...)</c> / <c>AddSource(...)</c> in OpenTelemetry
/// or any <c>MeterListener</c>/<c>ActivityListener</c>. Every instrument is listed in docs/observability.md.
/// </summary>
public static class EtcdSessionInstrumentation
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/>: <c>Etcd.AspNetCore.Session</c>.</summary>
    public static readonly string MeterName = "Etcd.AspNetCore.Session";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> (one client span per etcd call): <c>Etcd.AspNetCore.Session</c>.</summary>
    public static readonly string ActivitySourceName = "Etcd.AspNetCore.Session";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}
