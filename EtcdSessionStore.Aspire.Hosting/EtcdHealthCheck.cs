using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aspire.Hosting;

/// <summary>
/// Asks every member's <c>/health</c> (etcd answers <c>{"health":"true"}</c> when the member has a leader and no alarm):
/// Healthy when all members are, Degraded when only a majority is (the cluster still serves), otherwise Unhealthy.
/// </summary>
internal sealed class EtcdHealthCheck(EtcdResource etcd) : IHealthCheck
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var connectionString = await etcd.ConnectionStringExpression.GetValueAsync(cancellationToken).ConfigureAwait(false);
        var urls = (connectionString ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var answers = await Task.WhenAll(urls.Select(url => MemberHealthAsync(url, cancellationToken))).ConfigureAwait(false);
        var unhealthy = urls.Zip(answers).Where(a => a.Second is not null).Select(a => $"{a.First}: {a.Second}").ToList();
        if (unhealthy.Count == 0 && urls.Length > 0)
        {
            return HealthCheckResult.Healthy($"{urls.Length} of {urls.Length} members healthy.");
        }

        var description = $"{urls.Length - unhealthy.Count} of {urls.Length} members healthy; " + string.Join("; ", unhealthy);
        return urls.Length - unhealthy.Count > urls.Length / 2
            ? HealthCheckResult.Degraded(description)
            : new HealthCheckResult(context.Registration.FailureStatus, description);
    }

    /// <summary><see langword="null"/> when the member says it is healthy, else why not.</summary>
    private static async Task<string?> MemberHealthAsync(string url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(new Uri(url), "/health"), cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("health", out var health) && health.GetString() == "true" ? null : body;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return ex.Message;
        }
    }
}
