// A session app that exports the store's metrics and traces, with ASP.NET Core's own, over OTLP (by default to
// http://localhost:4317; OTEL_EXPORTER_OTLP_ENDPOINT and the other OTEL_* variables configure it).
using Etcd.AspNetCore.Session;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddEtcdSession(builder.Configuration.GetSection("EtcdSession"));

// [opentelemetry-setup]
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("shop"))
    .WithMetrics(metrics => metrics
        .AddMeter(EtcdSessionInstrumentation.MeterName)   // db.client.operation.duration, etcd.session.*
        .AddMeter("Microsoft.AspNetCore.Hosting")         // http.server.request.duration
        .AddOtlpExporter())
    .WithTracing(tracing => tracing
        .AddSource(EtcdSessionInstrumentation.ActivitySourceName)   // one client span per etcd call
        .AddSource("Microsoft.AspNetCore")                          // the request span, their parent
        .AddOtlpExporter());
// [/opentelemetry-setup]

var app = builder.Build();
app.UseEtcdSession();
app.MapGet("/", (HttpContext context) =>
{
    var visits = (context.Session.GetInt32("visits") ?? 0) + 1;
    context.Session.SetInt32("visits", visits);
    return $"visit {visits}";
});
await app.RunAsync();
