using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>A run's figures as a Markdown table (the one in docs/consistency.md), and a few examples of each violation.</summary>
public static partial class HistoryFigures
{
    public static string Table(History history, IReadOnlyList<Violation> violations, TimeSpan bound, int seed, TimeSpan traffic, IEnumerable<string> faults, int cookiesCleared)
    {
        var ops = history.Operations;
        var writes = ops.Where(o => o.Writes.Count > 0 || o.EndsSession).ToList();
        var statuses = ops.GroupBy(o => o.Status).OrderBy(g => g.Key)
            .Select(g => $"{(g.Key == 0 ? "none" : g.Key.ToString(CultureInfo.InvariantCulture))}: {g.Count()}");
        var rows = new List<(string, string)>
        {
            ("seed", seed.ToString(CultureInfo.InvariantCulture)),
            ("traffic", $"{traffic.TotalSeconds:0} s, {history.TabsPerBrowser.Count} browsers, {history.TabsPerBrowser.Values.Sum()} tabs"),
            ("operations", ops.Count.ToString(CultureInfo.InvariantCulture)),
            ("writes acknowledged / sent", $"{writes.Count(o => o.Acknowledged)} / {writes.Count}"),
            ("reads acknowledged / sent", $"{ops.Count(o => o.IsRead && o.Acknowledged)} / {ops.Count(o => o.IsRead)}"),
            ("reads through an older cookie, past the bound of its key's end", DeadKeyAttempts(history, bound).ToString(CultureInfo.InvariantCulture)),
            ("rotations and sign-ins acknowledged", ops.Count(o => o.Acknowledged && o.Kind is OperationKind.Rotate or OperationKind.SignIn).ToString(CultureInfo.InvariantCulture)),
            ("destroys and sign-outs acknowledged", ops.Count(o => o.Acknowledged && o.EndsSession).ToString(CultureInfo.InvariantCulture)),
            ("statuses", string.Join(", ", statuses)),
            ("faults", string.Join("; ", faults)),
            ("handler exceptions", string.Join("; ", ops.Where(o => o.ServerError is not null).GroupBy(o => $"{o.Kind} {SessionIds().Replace(o.ServerError!, "…")}")
                .OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} × {g.Key}"))),
        };
        if (LongestOnDeadKey(history) is { } stuck)
        {
            rows.Add(("longest on a dead key (not a violation)",
                $"browser {stuck.Browser}: {stuck.Seconds:0.0} s from {stuck.From:0.0} s, {stuck.Requests} requests, {stuck.Refused} refused"));
        }

        rows.Add(("session cookies dropped after refused writes", cookiesCleared.ToString(CultureInfo.InvariantCulture)));

        foreach (var kind in Enum.GetValues<ViolationKind>())
        {
            rows.Add((Name(kind), violations.Count(v => v.Kind == kind).ToString(CultureInfo.InvariantCulture)));
        }

        var table = new StringBuilder("| figure | value |\n|---|---|\n");
        foreach (var (name, value) in rows)
        {
            table.Append(CultureInfo.InvariantCulture, $"| {name} | {value} |\n");
        }

        return table.ToString();
    }

    /// <summary>
    /// The longest stretch in which a browser kept sending a key that an acknowledged rotation, sign-in, destroy or
    /// sign-out had ended (its jar took an older response's cookie after the newer one). No promise covers it, but
    /// such a browser's writes are refused until it gets a new cookie. A cookie's key is told by its protected part
    /// (the token before the revision), known once a request opened a session with it.
    /// </summary>
    public static (int Browser, double From, double Seconds, int Requests, int Refused)? LongestOnDeadKey(History history)
    {
        var stretches = OnDeadKey(history, TimeSpan.Zero).Where(o => o.Kind != OperationKind.ReadOldCookie)
            .GroupBy(o => (o.Browser, Protected(o.CookieBefore!)))
            .Select(g => (g.Key.Browser, From: g.Min(o => o.Start), Seconds: g.Max(o => o.End) - g.Min(o => o.Start), Requests: g.Count(),
                Refused: g.Count(o => !o.Acknowledged && o.Writes.Count > 0)))
            .ToList();
        return stretches.Count == 0 ? null : stretches.MaxBy(s => s.Seconds);
    }

    /// <summary>Reads through an older cookie whose key had ended more than <paramref name="bound"/> before: what the dead-key check had to work on.</summary>
    public static int DeadKeyAttempts(History history, TimeSpan bound) => OnDeadKey(history, bound).Count(o => o.Kind == OperationKind.ReadOldCookie);

    /// <summary>Requests that presented a cookie whose key an acknowledged operation had ended more than <paramref name="bound"/> before.</summary>
    private static IEnumerable<Operation> OnDeadKey(History history, TimeSpan bound)
    {
        var keyOf = history.Operations.Where(o => o.OpenedKey is not null && o.CookieBefore is not null)
            .GroupBy(o => Protected(o.CookieBefore!)).ToDictionary(g => g.Key, g => g.First().OpenedKey!, StringComparer.Ordinal);
        var endedAt = history.Operations.Where(o => o.Acknowledged && o.KillsOpenedKey && o.OpenedKey is not null)
            .GroupBy(o => o.OpenedKey!).ToDictionary(g => g.Key, g => g.Min(o => o.End), StringComparer.Ordinal);
        return history.Operations.Where(o => o.CookieBefore is not null && keyOf.TryGetValue(Protected(o.CookieBefore), out var key)
            && endedAt.TryGetValue(key, out var ended) && ended + bound.TotalSeconds < o.Start);
    }

    /// <summary>A cookie's key: the protected token before the revision.</summary>
    private static string Protected(string cookie) => cookie.LastIndexOf('.') is var dot and > 0 ? cookie[..dot] : cookie;

    [GeneratedRegex("[0-9a-f]{32}")]
    private static partial Regex SessionIds();

    /// <summary>Up to <paramref name="perKind"/> violations of each kind, one a line.</summary>
    public static string Examples(IReadOnlyList<Violation> violations, int perKind = 3) =>
        string.Join('\n', violations.GroupBy(v => v.Kind).SelectMany(g => g.Take(perKind)).Select(v => $"{Name(v.Kind)}: {v.Detail}"));

    public static string Name(ViolationKind kind) => kind switch
    {
        ViolationKind.LostWrite => "lost writes",
        ViolationKind.StaleRead => "reads staler than the bound",
        ViolationKind.ReadYourWritesMiss => "read-your-writes misses",
        ViolationKind.DeadKeyOpened => "dead keys opened",
        _ => kind.ToString(),
    };
}
