using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.DependencyInjection;

public sealed class ConfigurationTests
{
    [Test]
    public void AddEtcdSession_FromAConfigurationSection_BindsEveryKeyByPropertyName()
    {
        var options = Bind(new Dictionary<string, string?>
        {
            ["EtcdSession:Endpoints"] = "http://127.0.0.1:2379,http://127.0.0.1:22379",
            ["EtcdSession:Username"] = "shop",
            ["EtcdSession:Password"] = "pw",
            ["EtcdSession:KeyPrefix"] = "shop/sessions/",
            ["EtcdSession:IdleTimeout"] = "00:30:00",
            ["EtcdSession:AbsoluteTimeout"] = "1.00:00:00",
            ["EtcdSession:IOTimeout"] = "00:00:02",
            ["EtcdSession:UnavailableBehavior"] = "ContinueWithoutSession",
            ["EtcdSession:RegenerateIdOnSignIn"] = "false",
            ["EtcdSession:DestroyOnSignOut"] = "false",
            ["EtcdSession:Cookie:Name"] = "shop.session",
            ["EtcdSession:Cookie:Domain"] = "example.com",
            ["EtcdSession:Cookie:SameSite"] = "Strict",
            ["EtcdSession:Cookie:SecurePolicy"] = "Always",
        });

        Assert.Multiple(() =>
        {
            Assert.That(options.Endpoints, Is.EqualTo("http://127.0.0.1:2379,http://127.0.0.1:22379"));
            Assert.That(options.Username, Is.EqualTo("shop"));
            Assert.That(options.KeyPrefix, Is.EqualTo("shop/sessions/"));
            Assert.That(options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(30)));
            Assert.That(options.AbsoluteTimeout, Is.EqualTo(TimeSpan.FromDays(1)));
            Assert.That(options.IOTimeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(options.UnavailableBehavior, Is.EqualTo(EtcdSessionUnavailableBehavior.ContinueWithoutSession));
            Assert.That(options.RegenerateIdOnSignIn, Is.False);
            Assert.That(options.DestroyOnSignOut, Is.False);
            Assert.That(options.Cookie.Name, Is.EqualTo("shop.session"));
            Assert.That(options.Cookie.Domain, Is.EqualTo("example.com"));
            Assert.That(options.Cookie.SameSite, Is.EqualTo(SameSiteMode.Strict));
            Assert.That(options.Cookie.SecurePolicy, Is.EqualTo(CookieSecurePolicy.Always));
            Assert.That(options.Cookie.HttpOnly, Is.True, "unset keys keep their defaults");
        });
    }

    [Test]
    public void Defaults_AreTheSecureOnes()
    {
        var options = new EtcdSessionOptions();

        Assert.Multiple(() =>
        {
            Assert.That(options.Cookie.Name, Is.EqualTo(".Etcd.Session"));
            Assert.That(options.Cookie.Path, Is.EqualTo("/"));
            Assert.That(options.Cookie.HttpOnly, Is.True);
            Assert.That(options.Cookie.SameSite, Is.EqualTo(SameSiteMode.Lax));
            Assert.That(options.Cookie.SecurePolicy, Is.EqualTo(CookieSecurePolicy.SameAsRequest));
            Assert.That(options.Cookie.IsEssential, Is.True);
            Assert.That(options.UnavailableBehavior, Is.EqualTo(EtcdSessionUnavailableBehavior.FailRequest));
            Assert.That(options.RegenerateIdOnSignIn, Is.True);
            Assert.That(options.DestroyOnSignOut, Is.True);
        });
    }

    [TestCase("IdleTimeout", "00:00:01", "between 2 seconds")]
    [TestCase("KeyPrefix", "no-slash", "end with '/'")]
    [TestCase("Endpoints", "127.0.0.1", "comma-separated list")]
    [TestCase("IOTimeout", "00:00:00", "more than zero")]
    [TestCase("UnavailableBehavior", "7", "FailRequest or ContinueWithoutSession")]
    public void ABadSetting_StopsTheHostAtStartUp_WithAMessageNamingSettingValueAndWhatIsAllowed(string key, string value, string allowed)
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["EtcdSession:" + key] = value }))
            .ConfigureServices((context, services) => services.AddEtcdSession(context.Configuration.GetSection("EtcdSession")))
            .Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("EtcdSession:" + key).And.Contain($"'{value}'").And.Contain(allowed));
    }

    [Test]
    public void AUsernameWithoutAPassword_StopsTheHostAtStartUp()
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureAppConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["EtcdSession:Username"] = "shop" }))
            .ConfigureServices((context, services) => services.AddEtcdSession(context.Configuration.GetSection("EtcdSession")))
            .Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("EtcdSession:Password").And.Contain("Username"));
    }

    [Test]
    public void UseEtcdSession_WithoutAddEtcdSession_SaysWhatIsMissing()
    {
        var app = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder().Build();

        Assert.That(() => app.UseEtcdSession(), Throws.InvalidOperationException.With.Message.Contains("AddEtcdSession"));
    }

    private static EtcdSessionOptions Bind(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddEtcdSession(configuration.GetSection("EtcdSession"));
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;
    }
}
