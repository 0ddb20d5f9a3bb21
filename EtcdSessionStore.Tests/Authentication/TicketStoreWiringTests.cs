using Etcd.AspNetCore.Session.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Authentication;

public sealed class TicketStoreWiringTests
{
    [Test]
    public void WithoutSchemeNames_EveryCookieSchemeKeepsItsTicketsInEtcd()
    {
        using var services = Build(b => b.StoreTicketsInEtcd());

        Assert.Multiple(() =>
        {
            Assert.That(StoreOf(services, "A"), Is.InstanceOf<EtcdTicketStore>());
            Assert.That(StoreOf(services, "B"), Is.InstanceOf<EtcdTicketStore>());
        });
    }

    [Test]
    public void WithSchemeNames_OnlyThoseSchemesKeepTheirTicketsInEtcd()
    {
        using var services = Build(b => b.StoreTicketsInEtcd("A"));

        Assert.Multiple(() =>
        {
            Assert.That(StoreOf(services, "A"), Is.InstanceOf<EtcdTicketStore>());
            Assert.That(StoreOf(services, "B"), Is.Null);
        });
    }

    [Test]
    public void WithoutAddEtcdSession_TheFirstUseSaysWhatIsMissing()
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddAuthentication("A").AddCookie("A").StoreTicketsInEtcd();
        using var services = collection.BuildServiceProvider();

        Assert.That(() => StoreOf(services, "A"), Throws.InvalidOperationException.With.Message.Contains("AddEtcdSession"));
    }

    private static ServiceProvider Build(Action<Microsoft.AspNetCore.Authentication.AuthenticationBuilder> tickets)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddEtcdSession(_ => { });
        tickets(collection.AddAuthentication("A").AddCookie("A").AddCookie("B"));
        return collection.BuildServiceProvider();
    }

    private static ITicketStore? StoreOf(IServiceProvider services, string scheme) =>
        services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(scheme).SessionStore;
}
