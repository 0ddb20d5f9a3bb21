using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

public sealed class SecretsTests
{
    [Test]
    public void OptionsToString_ShowsSettings_ButNeverThePassword()
    {
        var options = new EtcdSessionOptions { Username = "app", Password = "s3cr3t-pa55" };

        Assert.That(options.ToString(), Does.Not.Contain("s3cr3t-pa55").And.Contain("Password=*****").And.Contain("Username=app"));
    }

    [Test]
    public async Task ThroughAWholeLifecycle_AndFailures_NoSecretKeyNorCookieNorValueIsLogged()
    {
        await using var server = await SessionTestServer.StartAsync(o =>
        {
            o.Username = "shop";
            o.Password = "s3cr3t-pa55"; // the test server's own etcd client does not use them: only logging is checked
        });
        var browser = server.NewBrowser();
        var seen = new List<string>();

        (await browser.PostAsync("/set?key=cart&value=apple-value-xyz")).Dispose();
        seen.Add(browser.SessionCookie!);
        (await browser.PostAsync("/regenerate")).Dispose();
        seen.Add(browser.SessionCookie!);
        (await browser.PostAsync("/signin?user=alice")).Dispose();
        seen.Add(browser.SessionCookie!);
        server.Calls.Failing = true;
        (await browser.GetAsync("/get?key=cart")).Dispose();
        (await server.NewBrowser().PostAsync("/set?key=cart&value=apple-value-xyz")).Dispose();
        server.Calls.Failing = false;
        (await browser.PostAsync("/signout")).Dispose();

        var secrets = seen.Select(c => Unprotect(server, c)).ToList();
        var logs = server.Logs.AllText;
        Assert.Multiple(() =>
        {
            Assert.That(server.Logs.Entries, Is.Not.Empty);
            Assert.That(logs, Does.Not.Contain("s3cr3t-pa55"));
            foreach (var secret in secrets.Concat(seen))
            {
                Assert.That(logs, Does.Not.Contain(secret));
            }

            foreach (var secret in secrets)
            {
                Assert.That(logs, Does.Not.Contain(server.StorageKeyOf(secret)), "the etcd key derived from the secret leaks nothing, but is not logged either");
            }

            // The test app puts the value in its URL, which ASP.NET Core's own request log shows: only the store's logs count here.
            var ours = string.Join('\n', server.Logs.Entries.Where(e => e.Category.StartsWith("Etcd.", StringComparison.Ordinal)).Select(e => e.Message + e.Exception));
            Assert.That(ours, Does.Not.Contain("apple-value-xyz"));
        });
    }

    private static string Unprotect(SessionTestServer server, string cookie)
    {
        var protector = Microsoft.AspNetCore.DataProtection.DataProtectionCommonExtensions.CreateProtector(
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(server.Services),
            "Etcd.AspNetCore.Session.Cookie.v1");
        return Microsoft.AspNetCore.DataProtection.DataProtectionCommonExtensions.Unprotect(protector, cookie);
    }
}
