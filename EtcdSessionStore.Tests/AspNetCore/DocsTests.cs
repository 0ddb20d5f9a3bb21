using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>The README's code is the demo's code: these fail when one changes without the other.</summary>
public sealed class DocsTests
{
    [TestCase("quick-start-services")]
    [TestCase("quick-start-pipeline")]
    public void ReadmeSnippet_IsTheDemoCode(string name)
    {
        var source = File.ReadAllText(Path.Combine(RepositoryRoot, "samples", "EtcdSessionStore.Demo", "ShopApp.cs"));
        var match = Regex.Match(source, $@"// \[{name}\]\r?\n(?<code>.*?)\r?\n\s*// \[/{name}\]", RegexOptions.Singleline);
        Assert.That(match.Success, Is.True, $"the demo has no [{name}] region");

        Assert.That(Normalize(ReadmeSnippet(name)), Is.EqualTo(Normalize(match.Groups["code"].Value)));
    }

    [Test]
    public void ReadmeAppSettings_AreTheDemosEtcdSessionSection()
    {
        var demo = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot, "samples", "EtcdSessionStore.Demo", "appsettings.json")))!;
        var readme = JsonNode.Parse(ReadmeSnippet("appsettings"))!;

        Assert.That(JsonNode.DeepEquals(readme["EtcdSession"], demo["EtcdSession"]), Is.True);
    }

    [Test]
    public void Readme_KeepsTheTestCommand_AndNamesTheDemoCommand()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));

        Assert.That(readme, Does.Contain("    dotnet tool restore && dotnet cake --target=Test\n")
            .And.Contain("    dotnet tool restore && dotnet cake --target=Demo\n"));
    }

    private static string ReadmeSnippet(string name)
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var match = Regex.Match(readme, $@"<!-- snippet: {name} -->\r?\n```\w+\r?\n(?<code>.*?)\r?\n```\r?\n<!-- /snippet -->", RegexOptions.Singleline);
        Assert.That(match.Success, Is.True, $"the README has no '{name}' snippet");
        return match.Groups["code"].Value;
    }

    private static string Normalize(string code) =>
        string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EtcdSessionStore.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("The repository root (EtcdSessionStore.slnx) was not found.");
        }
    }
}
