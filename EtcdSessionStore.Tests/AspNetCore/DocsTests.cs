using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>
/// Code in the README and docs/ is the demo's code: a snippet marked <c>&lt;!-- snippet: NAME --&gt;</c> must equal
/// the region <c>// [NAME]</c> ... <c>// [/NAME]</c> of a file under samples/. These fail when one changes without the other.
/// </summary>
public sealed class DocsTests
{
    private static readonly Regex Snippet = new(
        @"<!-- snippet: (?<name>[\w-]+) -->\r?\n```(?<lang>\w+)\r?\n(?<code>.*?)\r?\n```\r?\n<!-- /snippet -->", RegexOptions.Singleline);

    private static readonly Regex RegionMarker = new(@"^\s*// \[/?[\w-]+\]\s*$");

    public static IEnumerable<TestCaseData> CodeSnippets() =>
        from document in Documents()
        from Match snippet in Snippet.Matches(File.ReadAllText(RepositoryPaths.Of(document)))
        where snippet.Groups["lang"].Value == "csharp"
        select new TestCaseData(document, snippet.Groups["name"].Value, snippet.Groups["code"].Value)
            .SetArgDisplayNames(document, snippet.Groups["name"].Value);

    public static IEnumerable<TestCaseData> AppSettingsSnippets() =>
        from document in Documents()
        from Match snippet in Snippet.Matches(File.ReadAllText(RepositoryPaths.Of(document)))
        where snippet.Groups["lang"].Value == "json"
        select new TestCaseData(document, snippet.Groups["code"].Value).SetArgDisplayNames(document, snippet.Groups["name"].Value);

    public static IEnumerable<TestCaseData> DocumentLinks() =>
        from document in Documents()
        from target in Regex.Matches(File.ReadAllText(RepositoryPaths.Of(document)), @"\]\((?<target>[^)#:\s]+)(#[^)]*)?\)")
            .Select(m => m.Groups["target"].Value).Distinct()
        select new TestCaseData(document, target).SetArgDisplayNames(document, target);

    [TestCaseSource(nameof(CodeSnippets))]
    public void CodeSnippet_IsTheDemoCode(string document, string name, string code)
    {
        var regions = SampleRegions();
        Assert.That(regions.ContainsKey(name), Is.True, $"{document} shows snippet '{name}', but no file under samples/ has a // [{name}] region");

        Assert.That(Normalize(code), Is.EqualTo(Normalize(regions[name])), $"{document}: snippet '{name}' differs from the sample");
    }

    [TestCaseSource(nameof(AppSettingsSnippets))]
    public void AppSettingsSnippet_IsTheDemosEtcdSessionSection(string document, string json)
    {
        var demo = JsonNode.Parse(File.ReadAllText(RepositoryPaths.Of("samples", "EtcdSessionStore.Demo", "appsettings.json")))!;
        var shown = JsonNode.Parse(json)!;

        Assert.That(JsonNode.DeepEquals(shown["EtcdSession"], demo["EtcdSession"]), Is.True);
    }

    [Test]
    public void Readme_ShowsSnippets_ForTheQuickStart()
    {
        var names = Snippet.Matches(File.ReadAllText(RepositoryPaths.Of("README.md"))).Select(m => m.Groups["name"].Value);

        Assert.That(names, Is.SupersetOf(new[] { "quick-start-services", "quick-start-pipeline", "appsettings" }));
    }

    [TestCaseSource(nameof(DocumentLinks))]
    public void RelativeLink_PointsToAFileInTheRepository(string document, string target)
    {
        var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(RepositoryPaths.Of(document))!, target));

        Assert.That(File.Exists(path) || Directory.Exists(path), Is.True, $"{document} links to {target}, which does not exist");
    }

    public static IEnumerable<string> Options() =>
        typeof(EtcdSessionOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(p => p.GetMethod?.IsPublic == true).Select(p => p.Name).Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Options))]
    public void ReadmeAndConfiguration_TableEveryOption(string option)
    {
        var row = new Regex($@"(?m)^\|[^|\n]*`{option}(`|:)");

        Assert.Multiple(() =>
        {
            Assert.That(row.IsMatch(File.ReadAllText(RepositoryPaths.Of("README.md"))), Is.True, $"README.md's options table has no row for `{option}`");
            Assert.That(row.IsMatch(File.ReadAllText(RepositoryPaths.Of("docs", "configuration.md"))), Is.True, $"docs/configuration.md's options table has no row for `{option}`");
        });
    }

    [Test]
    public void Readme_KeepsTheTestCommand_AndNamesTheDemoCommand()
    {
        var readme = File.ReadAllText(RepositoryPaths.Of("README.md"));

        Assert.That(readme, Does.Contain("    dotnet tool restore && dotnet cake --target=Test\n")
            .And.Contain("    dotnet tool restore && dotnet cake --target=Demo\n"));
    }

    /// <summary>README.md, the package's README and every docs/*.md, relative to the repository root.</summary>
    private static IEnumerable<string> Documents() =>
        new[] { "README.md", Path.Combine("EtcdSessionStore", "PACKAGE.md") }.Concat(Directory.GetFiles(RepositoryPaths.Of("docs"), "*.md")
            .Select(f => Path.GetRelativePath(RepositoryPaths.Root, f)).Order(StringComparer.Ordinal));

    private static Dictionary<string, string> SampleRegions()
    {
        var regions = new Dictionary<string, string>();
        foreach (var file in Directory.GetFiles(RepositoryPaths.Of("samples"), "*.cs", SearchOption.AllDirectories))
        {
            var source = File.ReadAllText(file);
            foreach (var name in Regex.Matches(source, @"// \[(?<name>[\w-]+)\]").Select(m => m.Groups["name"].Value))
            {
                // One name at a time, so that regions nested in others are found too.
                var region = Regex.Match(source, $@"// \[{name}\]\r?\n(?<code>.*?)\r?\n\s*// \[/{name}\]", RegexOptions.Singleline);
                Assert.That(region.Success, Is.True, $"{file}: region [{name}] has no end marker [/{name}]");
                regions.Add(name, region.Groups["code"].Value);
            }
        }

        return regions;
    }

    // Indentation, blank lines and nested region markers do not count.
    private static string Normalize(string code) =>
        string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !RegionMarker.IsMatch(l)));
}
