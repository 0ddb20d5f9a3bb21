namespace Etcd.AspNetCore.Session;

/// <summary>
/// What the Aspire client integration registers beside the store, bound from the configuration section
/// <c>Aspire:EtcdSession</c> (<see cref="AspireEtcdSessionExtensions.DefaultConfigSectionName"/>). The store's own
/// options stay in the section <c>EtcdSession</c>.
/// </summary>
public sealed class EtcdSessionSettings
{
    /// <summary>
    /// The etcd client URLs, comma-separated, each with its port (an Aspire app host's <c>AddEtcd</c> resource gives
    /// them as the connection string <c>ConnectionStrings:{name}</c>, which sets this). When set, it is the store's
    /// <see cref="EtcdSessionOptions.Endpoints"/>, whatever <c>EtcdSession:Endpoints</c> says.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <c>EtcdSession:Endpoints</c> applies.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Whether to leave out the store's health check (<c>AddHealthChecks().AddEtcdSession()</c>).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool DisableHealthChecks { get; set; }

    /// <summary>Whether to leave the store's spans (<see cref="EtcdSessionInstrumentation.ActivitySourceName"/>) out of the app's OpenTelemetry tracing.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool DisableTracing { get; set; }

    /// <summary>Whether to leave the store's instruments (<see cref="EtcdSessionInstrumentation.MeterName"/>) out of the app's OpenTelemetry metrics.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool DisableMetrics { get; set; }
}
