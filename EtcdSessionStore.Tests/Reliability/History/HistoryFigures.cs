using System.Globalization;
using System.Text;

namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>A run's figures as a Markdown table (the one in docs/consistency.md), and a few examples of each violation.</summary>
public static class HistoryFigures
{
    public static string Table(History history, IReadOnlyList<Violation> violations, int seed, TimeSpan traffic, IEnumerable<string> faults)
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
            ("reads acknowledged / sent", $"{ops.Count(o => o.Kind == OperationKind.Read && o.Acknowledged)} / {ops.Count(o => o.Kind == OperationKind.Read)}"),
            ("rotations and sign-ins acknowledged", ops.Count(o => o.Acknowledged && o.Kind is OperationKind.Rotate or OperationKind.SignIn).ToString(CultureInfo.InvariantCulture)),
            ("destroys and sign-outs acknowledged", ops.Count(o => o.Acknowledged && o.EndsSession).ToString(CultureInfo.InvariantCulture)),
            ("statuses", string.Join(", ", statuses)),
            ("faults", string.Join("; ", faults)),
        };
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
