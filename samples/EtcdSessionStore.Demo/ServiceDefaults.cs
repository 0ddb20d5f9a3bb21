using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace EtcdSessionStore.Demo;

/// <summary>
/// The part of an Aspire template's ServiceDefaults project that the shop needs: its logs, ASP.NET Core's request
/// metrics and spans in OpenTelemetry, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (an Aspire app
/// host sets it to its dashboard). The store's own traces and metrics come from <c>EnrichEtcdSession</c>.
/// </summary>
internal static class ServiceDefaults
{
    public static void AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"))
            .WithTracing(tracing => tracing.AddSource("Microsoft.AspNetCore")); // the request span, parent of the store's spans

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
    }
}
