using System.Text.RegularExpressions;

namespace Etcd.AspNetCore.Session.Tests.Users;

/// <summary>The code in docs/sessions-by-user.md is the demo's code.</summary>
public sealed class SessionsByUserDocsTests
{
    [TestCase("revoke-all")]
    public void DocSnippet_IsTheDemoCode(string name)
    {
        var root = RepositoryRoot();
        var source = File.ReadAllText(Path.Combine(root, "samples", "EtcdSessionStore.Demo", "ActiveSessions.cs"));
        var doc = File.ReadAllText(Path.Combine(root, "docs", "sessions-by-user.md"));
        var code = Regex.Match(source, $@"// \[{name}\]\r?\n(?<code>.*?)\r?\n\s*// \[/{name}\]", RegexOptions.Singleline);
        var snippet = Regex.Match(doc, $@"<!-- snippet: {name} -->\r?\n```\w+\r?\n(?<code>.*?)\r?\n```\r?\n<!-- /snippet -->", RegexOptions.Singleline);

        Assert.That(code.Success && snippet.Success, Is.True, $"[{name}] is missing from the demo or the doc");
        Assert.That(Normalize(snippet.Groups["code"].Value), Is.EqualTo(Normalize(code.Groups["code"].Value)));
    }

    private static string Normalize(string code) =>
        string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EtcdSessionStore.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("The repository root was not found.");
    }
}
