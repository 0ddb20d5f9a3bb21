using System.Reflection;
using System.Text.RegularExpressions;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

/// <summary>docs/troubleshooting.md lists every log event and every error kind the library has: these fail when one is added without it.</summary>
public sealed class TroubleshootingDocTests
{
    public static IEnumerable<TestCaseData> LogEvents() =>
        from type in typeof(EtcdSessionOptions).Assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        orderby attribute.EventId
        select new TestCaseData(attribute.EventId, attribute.EventName ?? method.Name, attribute.Level).SetArgDisplayNames(attribute.EventId.ToString(), attribute.EventName ?? method.Name);

    [Test]
    public void TheLibrary_HasLogEvents_ForTheDocToList() => Assert.That(LogEvents().Count(), Is.GreaterThan(10));

    [TestCaseSource(nameof(LogEvents))]
    public void Troubleshooting_ListsTheLogEvent_WithItsIdAndLevel(int id, string name, LogLevel level)
    {
        var row = new Regex($@"^\|\s*{id}\s*\|\s*`{name}`\s*\|\s*{level}\s*\|", RegexOptions.Multiline);

        Assert.That(row.IsMatch(Troubleshooting), Is.True, $"docs/troubleshooting.md needs a row '| {id} | `{name}` | {level} | ... |'");
    }

    [Test]
    public void Troubleshooting_ListsEveryErrorKind([Values] EtcdSessionErrorKind kind) =>
        Assert.That(Troubleshooting, Does.Match($@"(?m)^\|\s*`{kind}`\s*\|"), $"docs/troubleshooting.md needs a row '| `{kind}` | ... |'");

    /// <summary>
    /// The fixed start (up to the first placeholder) of every misuse and bad-argument exception message in the
    /// library's source (an argument exception's message may follow its <c>nameof(parameter)</c>).
    /// </summary>
    public static IEnumerable<TestCaseData> MisuseMessages() =>
        from file in Directory.GetFiles(RepositoryPaths.Of("EtcdSessionStore"), "*.cs", SearchOption.AllDirectories)
        from Match thrown in Regex.Matches(File.ReadAllText(file),
            @"new (?<type>InvalidOperationException|NotSupportedException|ArgumentException|ArgumentOutOfRangeException)\(\s*(nameof\(\w+\),\s*)?\$?""(?<text>[^""{]*)")
        let start = thrown.Groups["text"].Value.Trim()
        where start.Length >= 12
        select new TestCaseData(thrown.Groups["type"].Value, start).SetArgDisplayNames(Path.GetFileName(file), start.Length > 40 ? start[..40] : start);

    [TestCaseSource(nameof(MisuseMessages))]
    public void Troubleshooting_QuotesTheExceptionMessage(string type, string messageStart) =>
        Assert.That(Troubleshooting, Does.Contain(messageStart), $"docs/troubleshooting.md should quote the {type} that starts '{messageStart}'");

    private static string Troubleshooting => File.ReadAllText(RepositoryPaths.Of("docs", "troubleshooting.md"));
}
