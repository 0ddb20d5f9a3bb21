namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Writes results into docs/benchmarks.md (or another page of docs/) between marker comments (<c>&lt;!-- bench:NAME:start --&gt;</c> and
/// <c>&lt;!-- bench:NAME:end --&gt;</c>), so that a rerun replaces the previous numbers and leaves the prose alone.
/// </summary>
internal static class BenchDoc
{
    public static string DocsDirectory(BenchArguments args)
    {
        var explicitDir = args.String("docs", "");
        if (explicitDir.Length > 0)
        {
            return Path.GetFullPath(explicitDir);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EtcdSessionStore.slnx")))
            {
                return Path.Combine(dir.FullName, "docs");
            }
        }

        throw new InvalidOperationException("Cannot find the repository's docs/ folder; pass --docs DIR.");
    }

    public static void Replace(string docsDirectory, string section, string markdown, string page = "benchmarks.md")
    {
        var file = Path.Combine(docsDirectory, page);
        var start = $"<!-- bench:{section}:start -->";
        var end = $"<!-- bench:{section}:end -->";
        var text = File.Exists(file) ? File.ReadAllText(file) : "# Benchmarks\n";
        var from = text.IndexOf(start, StringComparison.Ordinal);
        var to = text.IndexOf(end, StringComparison.Ordinal);
        var block = $"{start}\n{markdown.TrimEnd()}\n{end}";
        text = from >= 0 && to > from
            ? text[..from] + block + text[(to + end.Length)..]
            : text.TrimEnd() + "\n\n" + block + "\n";
        File.WriteAllText(file, text);
        Console.WriteLine($"Wrote the {section} results into {file}.");
    }
}
