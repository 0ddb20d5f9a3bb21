using System.Globalization;
using System.Text.Json;

namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>
/// Random traffic from browsers with several tabs against two instances with the near cache, over a 3-member
/// cluster, while an instance restarts, a watch lags, replies are lost and a member freezes and dies; then the
/// recorded history is checked against the store's promises (<see cref="HistoryChecker"/>). Replay a run with
/// <c>SESSION_HISTORY_SEED</c>; make it longer with <c>SESSION_HISTORY_SECONDS</c> (or run the Soak category).
/// </summary>
[NonParallelizable]
public sealed class RandomHistoryTests
{
    public const string SeedVariable = "SESSION_HISTORY_SEED";
    public const string SecondsVariable = "SESSION_HISTORY_SECONDS";

    private static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(1);

    /// <summary>
    /// What the staleness bound adds to <c>MaxStaleness</c>. The client takes a write's end after the server's commit
    /// and a read's start before the server's lookup, so the order needs no slack; this covers the heartbeat timer's
    /// granularity and thread-pool delays between the freshness check and the lookup on a loaded machine.
    /// </summary>
    private static readonly TimeSpan Allowance = TimeSpan.FromMilliseconds(250);

    [Test]
    public Task UnderFaults_NoAcknowledgedWriteIsLost_ReadsStayWithinMaxStaleness_AndDeadKeysOpenNothing() =>
        RunAsync(Seconds(SecondsVariable) ?? 40);

    [Test]
    [Explicit("A ten-minute soak; run it by name or with --filter TestCategory=Soak.")]
    [Category("Soak")]
    public Task Soak() => RunAsync(Seconds(SecondsVariable) ?? 600);

    private static async Task RunAsync(int seconds)
    {
        var seed = Seconds(SeedVariable) ?? Random.Shared.Next();
        await TestContext.Out.WriteLineAsync($"Seed {seed} (replay with {SeedVariable}={seed}), {seconds} s of traffic.");
        var run = new HistoryRun(seed, TimeSpan.FromSeconds(seconds), MaxStaleness);
        var history = await run.RunAsync();
        var violations = new HistoryChecker(history, MaxStaleness + Allowance).Check();

        await TestContext.Out.WriteLineAsync(HistoryFigures.Table(history, violations, MaxStaleness + Allowance, seed, TimeSpan.FromSeconds(seconds), run.Faults, run.CookiesCleared));
        await TestContext.Out.WriteLineAsync(HistoryFigures.Examples(violations, perKind: 5));
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"session-history-{seed}.jsonl");
        await File.WriteAllLinesAsync(file, history.Operations.Select(o => JsonSerializer.Serialize(o))
            .Append(JsonSerializer.Serialize(history.FinalSessions)));
        await TestContext.Out.WriteLineAsync($"History (one operation a line, then what etcd held at the end): {file}");
        Assert.That(violations, Is.Empty,
            $"seed {seed}: {violations.Count} violations ({string.Join(", ", violations.GroupBy(v => v.Kind).Select(g => $"{g.Count()} {HistoryFigures.Name(g.Key)}"))}). Replay with {SeedVariable}={seed}.");
    }

    private static int? Seconds(string variable) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
