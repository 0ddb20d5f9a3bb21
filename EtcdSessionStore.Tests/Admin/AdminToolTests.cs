using System.Text.Json.Nodes;
using Etcd.AspNetCore.Session.Admin;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcd.AspNetCore.Session.Tests.Users;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Admin;

/// <summary>The admin tool's commands, run in-process against the shared etcd with the app's configuration keys.</summary>
public sealed class AdminToolTests
{
    [Test]
    public async Task Count_PrintsTheNumberOfStoredSessions()
    {
        using var store = TestStore.Create();
        for (var i = 0; i < 3; i++)
        {
            await SessionsByUserTests.StoredSessionAsync(store);
        }

        var (code, output, _) = await RunAsync(store, "count");

        Assert.That(code, Is.EqualTo(AdminCommands.Ok));
        Assert.That(output.Trim(), Is.EqualTo("3"));
    }

    [Test]
    public async Task List_PagesThroughEverySession_AndNeverPrintsASecretKey()
    {
        using var store = TestStore.Create();
        var sessions = new List<(string Secret, string Id)>();
        for (var i = 0; i < 5; i++)
        {
            var s = await SessionsByUserTests.SignedInSessionAsync(store, $"user{i}", "ua");
            sessions.Add((s.SessionKey, s.Id));
        }

        var (_, first, _) = await RunAsync(store, "list", "--page-size", "3");
        var token = first.Split('\n').Single(l => l.StartsWith("more: --after ", StringComparison.Ordinal))["more: --after ".Length..].Trim();
        var (_, second, _) = await RunAsync(store, "list", "--page-size", "3", "--after", token);

        var all = first + second;
        Assert.Multiple(() =>
        {
            foreach (var (secret, id) in sessions)
            {
                Assert.That(all, Does.Contain(id));
                Assert.That(all, Does.Not.Contain(secret));
            }

            Assert.That(second, Does.Not.Contain("more:"));
            Assert.That(all, Does.Contain("user3"));
        });
    }

    [Test]
    public async Task Show_PrintsTheHeaderAndDecodedItems_WithoutTheSecret()
    {
        using var store = TestStore.Create();
        var session = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "Firefox");
        session.Set("blob", [0, 1, 2, 255]);
        await session.CommitAsync();

        var (code, output, _) = await RunAsync(store, "show", session.Id);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(AdminCommands.Ok));
            Assert.That(output, Does.Contain("user:        alice"));
            Assert.That(output, Does.Contain("meta ua: Firefox"));
            Assert.That(output, Does.Contain("cart = \"apples\""));
            Assert.That(output, Does.Contain("blob = base64:AAEC/w=="));
            Assert.That(output, Does.Not.Contain(session.SessionKey));
        });
    }

    [Test]
    public async Task Show_ForAnUnknownId_ExitsWithNotFound()
    {
        using var store = TestStore.Create();

        var (code, output, _) = await RunAsync(store, "show", "0123456789abcdef0123456789abcdef");

        Assert.That(code, Is.EqualTo(AdminCommands.NotFound));
        Assert.That(output, Does.Contain("No session"));
    }

    [Test]
    public async Task Revoke_DestroysTheSessionAndItsUserEntry()
    {
        using var store = TestStore.Create();
        var session = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "ua");

        var (code, _, _) = await RunAsync(store, "revoke", session.Id);

        var reopened = await store.OpenAsync(session.SessionKey);
        Assert.That(code, Is.EqualTo(AdminCommands.Ok));
        Assert.That(reopened.Id, Is.Not.EqualTo(session.Id));
        Assert.That(await store.Services.GetRequiredService<EtcdSessionDirectory>().ListAsync("alice"), Is.Empty);
    }

    [Test]
    public async Task RevokeUser_DestroysEverySessionOfThatUserOnly()
    {
        using var store = TestStore.Create();
        var a1 = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "one");
        var a2 = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "two");
        var bob = await SessionsByUserTests.SignedInSessionAsync(store, "bob", "three");

        var (code, output, _) = await RunAsync(store, "revoke-user", "alice");

        Assert.That(code, Is.EqualTo(AdminCommands.Ok));
        Assert.That(output, Does.Contain("Revoked 2 session(s)"));
        Assert.That((await store.OpenAsync(a1.SessionKey)).GetString("user"), Is.Null);
        Assert.That((await store.OpenAsync(a2.SessionKey)).GetString("user"), Is.Null);
        Assert.That((await store.OpenAsync(bob.SessionKey)).GetString("user"), Is.EqualTo("bob"));
    }

    [Test]
    public async Task Stats_ReportsSessionsIndexEntriesLeasesAndDbSize()
    {
        using var store = TestStore.Create();
        await SessionsByUserTests.SignedInSessionAsync(store, "alice", "ua");
        await SessionsByUserTests.StoredSessionAsync(store);

        var (code, output, _) = await RunAsync(store, "stats");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(AdminCommands.Ok));
            Assert.That(output, Does.Match(@"sessions:\s+2"));
            Assert.That(output, Does.Match(@"bound to a user:\s+1"));
            Assert.That(output, Does.Match(@"leases:\s+[1-9]"));
            Assert.That(output, Does.Match(@"etcd db size:\s+[1-9]\d* bytes"));
        });
    }

    [Test]
    public async Task AnInvalidSetting_IsReportedWithItsName_AndExitsWithUsage()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await AdminCommands.RunAsync(["count", "--EtcdSession:Endpoints=http://127.0.0.1"], output, error);

        Assert.That(code, Is.EqualTo(AdminCommands.Usage));
        Assert.That(error.ToString(), Does.Contain("EtcdSession:Endpoints"));
    }

    [Test]
    public async Task SettingsComeFromAnAppSettingsFile()
    {
        using var store = TestStore.Create();
        await SessionsByUserTests.StoredSessionAsync(store);
        var file = Path.Combine(Path.GetTempPath(), $"appsettings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""{ "EtcdSession": { "Endpoints": "{{EtcdFixture.Endpoints}}", "KeyPrefix": "{{store.Prefix}}" } }""");
        try
        {
            var output = new StringWriter();
            var code = await AdminCommands.RunAsync(["count", "--config", file], output, new StringWriter());

            Assert.That(code, Is.EqualTo(AdminCommands.Ok));
            Assert.That(output.ToString().Trim(), Is.EqualTo("1"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [TestCase("count")]
    [TestCase("list", "--page-size")]
    [TestCase("show", "<id>")]
    [TestCase("revoke", "<id>")]
    [TestCase("revoke-user", "<user>")]
    [TestCase("stats")]
    public async Task EachCommand_HasItsOwnHelp(string command, string? mentions = null)
    {
        var (code, output, _) = await RunBareAsync(command, "--help");

        Assert.That(code, Is.EqualTo(AdminCommands.Ok));
        // The usage line starts with the executable's name (the test host here, EtcdSessionStore.Admin in use).
        Assert.That(output, Does.Match($@"Usage:\s+\S+ {command}\b").And.Contain("--output").And.Contain(mentions ?? "Description:"));
    }

    [TestCase(new[] { "show", "not-an-id" }, "is not a session id")]
    [TestCase(new[] { "revoke", "ABCDEF" }, "is not a session id")]
    [TestCase(new[] { "show" }, "Required argument missing")]
    [TestCase(new[] { "list", "--page-size", "0" }, "from 1 to 1000")]
    [TestCase(new[] { "list", "--page-size", "many" }, "Cannot parse argument 'many' for option '--page-size'")]
    [TestCase(new[] { "list", "--after", "../../etc" }, "is not a page token")]
    [TestCase(new[] { "list", "--pagesize", "3" }, "Unrecognized command or argument '--pagesize'")]
    [TestCase(new[] { "count", "--output", "xml" }, "'xml' not recognized")]
    [TestCase(new[] { "frob" }, "Unrecognized command or argument 'frob'")]
    [TestCase(new string[0], "Required command was not provided")]
    public async Task ABadCommandLine_SaysWhatIsWrong_AndExitsWithUsage_BeforeTouchingEtcd(string[] args, string message)
    {
        // No etcd at all: validation must answer first.
        var (code, _, error) = await RunBareAsync([.. args, "--EtcdSession:Endpoints=http://127.0.0.1:1"]);

        Assert.That(code, Is.EqualTo(AdminCommands.Usage));
        Assert.That(error, Does.Contain(message).And.Contain("--help' for usage"));
    }

    [Test]
    public async Task OutputJson_PrintsOneDocumentPerCommand_ForScripts()
    {
        using var store = TestStore.Create();
        var session = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "Firefox");
        await SessionsByUserTests.StoredSessionAsync(store);

        var count = JsonNode.Parse((await RunAsync(store, "count", "--output", "json")).Output)!;
        var list = JsonNode.Parse((await RunAsync(store, "list", "-o", "json", "--page-size", "1")).Output)!;
        var show = JsonNode.Parse((await RunAsync(store, "show", session.Id, "-o", "json")).Output)!;
        var stats = JsonNode.Parse((await RunAsync(store, "stats", "-o", "json")).Output)!;
        var (missingCode, missingOutput, _) = await RunAsync(store, "show", "0123456789abcdef0123456789abcdef", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That((long)count["sessions"]!, Is.EqualTo(2));
            Assert.That(list["sessions"]!.AsArray(), Has.Count.EqualTo(1));
            Assert.That((string?)list["next"], Is.Not.Null.And.Not.Empty);
            Assert.That((string?)show["id"], Is.EqualTo(session.Id));
            Assert.That((string?)show["userName"], Is.EqualTo("alice"));
            Assert.That((string?)show["metadata"]!["ua"], Is.EqualTo("Firefox"));
            Assert.That(show["items"]!.AsArray().Select(i => (string?)i!["name"]), Does.Contain("cart"));
            Assert.That((long)stats["sessions"]!, Is.EqualTo(2));
            Assert.That((long)stats["sessionsBoundToAUser"]!, Is.EqualTo(1));
            Assert.That(missingCode, Is.EqualTo(AdminCommands.NotFound));
            Assert.That((bool)JsonNode.Parse(missingOutput)!["found"]!, Is.False);
            Assert.That(show.ToJsonString(), Does.Not.Contain(session.SessionKey));
        });
    }

    [Test]
    public async Task RevokeWithJsonOutput_SaysWhetherItRevoked()
    {
        using var store = TestStore.Create();
        var session = await SessionsByUserTests.SignedInSessionAsync(store, "alice", "ua");

        var (code, output, _) = await RunAsync(store, "revoke", session.Id, "-o", "json");
        var (againCode, again, _) = await RunAsync(store, "revoke", session.Id, "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(AdminCommands.Ok));
            Assert.That((bool)JsonNode.Parse(output)!["revoked"]!, Is.True);
            Assert.That(againCode, Is.EqualTo(AdminCommands.NotFound));
            Assert.That((bool)JsonNode.Parse(again)!["found"]!, Is.False);
        });
    }

    [TestCase("[suggest:2]", "re", new[] { "revoke", "revoke-user" })]
    [TestCase("[suggest:7]", "list --", new[] { "--after", "--page-size", "--output" })]
    [TestCase("[suggest:12]", "count -o ", new[] { "json", "text" })]
    public async Task TheSuggestDirective_CompletesCommandsOptionsAndValues(string directive, string line, string[] expected)
    {
        var (code, output, _) = await RunBareAsync(directive, line);

        Assert.That(code, Is.EqualTo(AdminCommands.Ok));
        Assert.That(output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), Is.SupersetOf(expected));
    }

    [Test]
    public void TheDocumentedExitCodes_AreTheToolsExitCodes()
    {
        var doc = File.ReadAllText(RepositoryPaths.Of("docs", "admin-tool.md"));

        Assert.That(doc, Does.Contain($"| {AdminCommands.Ok} |").And.Contain($"| {AdminCommands.NotFound} |")
            .And.Contain($"| {AdminCommands.Usage} |").And.Contain($"| {AdminCommands.Failed} |"));
    }

    private static async Task<(int Code, string Output, string Error)> RunBareAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await AdminCommands.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(TestStore store, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        string[] all = [.. args, $"--EtcdSession:Endpoints={EtcdFixture.Endpoints}", $"--EtcdSession:KeyPrefix={store.Prefix}"];
        var code = await AdminCommands.RunAsync(all, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
