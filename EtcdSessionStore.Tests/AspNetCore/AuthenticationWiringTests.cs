using Etcd.AspNetCore.Session.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.AspNetCore;

public sealed class AuthenticationWiringTests
{
    [TestCase(true)]
    [TestCase(false)]
    public void TheAuthenticationServiceIsWrapped_WhicheverIsRegisteredFirst(bool authenticationFirst)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (authenticationFirst)
        {
            services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        }

        services.AddEtcdSession(_ => { });
        services.AddEtcdSession(_ => { }); // twice: still wrapped once
        if (!authenticationFirst)
        {
            services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
        }

        using var provider = services.BuildServiceProvider();
        using var scope = provider.CreateScope();

        Assert.Multiple(() =>
        {
            Assert.That(scope.ServiceProvider.GetRequiredService<IAuthenticationService>(), Is.InstanceOf<SessionAwareAuthenticationService>());
            Assert.That(services.Count(d => d.ServiceType == typeof(IAuthenticationService)), Is.EqualTo(1));
        });
    }

    [Test]
    public void WithoutAddAuthentication_SigningInSaysWhatIsMissing()
    {
        var services = new ServiceCollection();
        services.AddEtcdSession(_ => { });
        using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.CreateScope().ServiceProvider.GetRequiredService<IAuthenticationService>(),
            Throws.InvalidOperationException.With.Message.Contains("AddAuthentication"));
    }
}
