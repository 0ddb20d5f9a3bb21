using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Etcd.AspNetCore.Session;

/// <summary>
/// The Aspire client integration of the etcd session store: the store's endpoints from an Aspire connection string,
/// and its health check, traces and metrics registered the way Aspire's client integrations register theirs.
/// </summary>
public static class AspireEtcdSessionExtensions
{
    /// <summary>The configuration section of <see cref="EtcdSessionSettings"/>: <c>Aspire:EtcdSession</c>.</summary>
    public const string DefaultConfigSectionName = "Aspire:EtcdSession";

    /// <summary>The configuration section of the store's <see cref="EtcdSessionOptions"/>: <c>EtcdSession</c>.</summary>
    public const string OptionsSectionName = "EtcdSession";

    /// <summary>
    /// Registers the etcd session store with its options bound from the section <c>EtcdSession</c>, its endpoints taken
    /// from the connection string <paramref name="connectionName"/> when there is one (an app host's
    /// <c>.WithReference(etcd)</c> sets it), and, unless <see cref="EtcdSessionSettings"/> turn them off, its health
    /// check and its traces and metrics in the app's OpenTelemetry.
    /// </summary>
    /// <param name="builder">The app's host builder.</param>
    /// <param name="connectionName">The name of the connection string: the name of the app host's etcd resource.</param>
    /// <param name="configureSettings">Changes the settings after they were read from configuration.</param>
    /// <param name="configureOptions">Changes the store's options after configuration and the connection string.</param>
    public static void AddEtcdSession(
        this IHostApplicationBuilder builder,
        string connectionName,
        Action<EtcdSessionSettings>? configureSettings = null,
        Action<EtcdSessionOptions>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(connectionName);
        builder.Services.AddEtcdSession(builder.Configuration.GetSection(OptionsSectionName));
        Enrich(builder, connectionName, configureSettings, configureOptions);
    }

    /// <summary>
    /// For an app that registers the store itself (<c>builder.Services.AddEtcdSession(...)</c>): adds what
    /// <see cref="AddEtcdSession"/> adds beside the store. The endpoints come from the connection string
    /// <paramref name="connectionName"/> when it is given and set; the health check, traces and metrics as the settings say.
    /// </summary>
    public static void EnrichEtcdSession(
        this IHostApplicationBuilder builder,
        string? connectionName = null,
        Action<EtcdSessionSettings>? configureSettings = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Enrich(builder, connectionName, configureSettings, configureOptions: null);
    }

    private static void Enrich(
        IHostApplicationBuilder builder,
        string? connectionName,
        Action<EtcdSessionSettings>? configureSettings,
        Action<EtcdSessionOptions>? configureOptions)
    {
        var settings = new EtcdSessionSettings();
        builder.Configuration.GetSection(DefaultConfigSectionName).Bind(settings);
        if (connectionName is not null && builder.Configuration.GetConnectionString(connectionName) is { Length: > 0 } connectionString)
        {
            settings.ConnectionString = connectionString;
        }

        configureSettings?.Invoke(settings);

        builder.Services.AddOptions<EtcdSessionOptions>().Configure(options =>
        {
            if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
            {
                options.Endpoints = settings.ConnectionString;
            }

            configureOptions?.Invoke(options);
        });

        // Once per app, however often it is called: a second check of the same name would fail the health service.
        if (!settings.DisableHealthChecks && builder.Properties.TryAdd(typeof(EtcdSessionSettings).FullName + ":HealthCheck", true))
        {
            builder.Services.AddHealthChecks().AddEtcdSession();
        }

        if (!settings.DisableTracing)
        {
            builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(EtcdSessionInstrumentation.ActivitySourceName));
        }

        if (!settings.DisableMetrics)
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(EtcdSessionInstrumentation.MeterName));
        }
    }
}
