using dotnet_etcd;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Tests.Authentication;

/// <summary>
/// Instances of one app on real Kestrel (127.0.0.1, free ports) that sign users in with ASP.NET Core Identity's
/// <see cref="SignInManager{TUser}"/> (users in EF Core's in-memory database, one database for all instances) under
/// <c>app.UseEtcdSession()</c>, on the run's etcd under one prefix and one key ring. Routes: POST /login?user=
/// (<c>PasswordSignInAsync</c>; 401 when refused; with revokeFirst=, <c>RevokeAllAsync</c> of that user first, after
/// the request was authenticated), POST /logout (<c>SignOutAsync</c>), POST /cart?item= (appends to
/// the session's cart), GET /cart, GET /whoami (the user's name or "anonymous").
/// </summary>
public sealed class IdentityApp : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    private readonly List<WebApplication> _instances = [];
    private readonly List<EtcdClient> _clients = [];
    private readonly IDataProtectionProvider _keyRing = new EphemeralDataProtectionProvider();
    private readonly InMemoryDatabaseRoot _database = new();
    private readonly string _databaseName = Guid.NewGuid().ToString("N");

    private IdentityApp(string prefix)
    {
        Prefix = prefix;
    }

    public string Prefix { get; }

    /// <summary>The base URL of each instance.</summary>
    public IReadOnlyList<string> Urls => _instances.Select(i => i.Urls.Single()).ToList();

    public IServiceProvider ServicesOf(int instance) => _instances[instance].Services;

    /// <param name="instances">How many instances share the etcd prefix, the key ring and the user store.</param>
    /// <param name="storeTickets">Keep Identity's sign-in tickets in etcd (<c>StoreTicketsInEtcd</c>).</param>
    /// <param name="configure">More session store options.</param>
    /// <param name="users">The users to create, each with <see cref="Password"/>.</param>
    public static async Task<IdentityApp> StartAsync(int instances, bool storeTickets, Action<EtcdSessionOptions>? configure, params string[] users)
    {
        var app = new IdentityApp(EtcdFixture.UniquePrefix(TestContext.CurrentContext.Test.MethodName ?? "test"));
        try
        {
            for (var i = 0; i < instances; i++)
            {
                await app.StartInstanceAsync(storeTickets, configure);
            }

            using var scope = app._instances[0].Services.CreateScope();
            var manager = scope.ServiceProvider.GetRequiredService<UserManager<IdentityUser>>();
            foreach (var user in users)
            {
                var created = await manager.CreateAsync(new IdentityUser(user), Password);
                Assert.That(created.Succeeded, Is.True, string.Join("; ", created.Errors.Select(e => e.Description)));
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.StopAsync();
            await instance.DisposeAsync();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private async Task StartInstanceAsync(bool storeTickets, Action<EtcdSessionOptions>? configure)
    {
        var client = EtcdTestClient.Create();
        _clients.Add(client);
        var builder = EndpointTestApp.NewBuilder(Prefix, client, o =>
        {
            o.IOTimeout = TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        });
        builder.Services.AddSingleton(_keyRing);
        builder.Services.AddDbContext<IdentityDbContext>(o => o.UseInMemoryDatabase(_databaseName, _database));
        builder.Services.AddIdentity<IdentityUser, IdentityRole>(o =>
            {
                o.Password.RequireDigit = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
            })
            .AddEntityFrameworkStores<IdentityDbContext>();
        if (storeTickets)
        {
            builder.Services.AddAuthentication().StoreTicketsInEtcd(IdentityConstants.ApplicationScheme);
        }

        var app = builder.Build();
        app.UseAuthentication();
        app.UseEtcdSession();
        app.MapPost("/login", async (string user, string? revokeFirst, SignInManager<IdentityUser> signIn, EtcdSessionDirectory directory) =>
        {
            if (revokeFirst is not null)
            {
                await directory.RevokeAllAsync(revokeFirst);
            }

            return (await signIn.PasswordSignInAsync(user, Password, isPersistent: false, lockoutOnFailure: false)).Succeeded ? Results.Text("ok") : Results.Unauthorized();
        });
        app.MapPost("/logout", async (SignInManager<IdentityUser> signIn) =>
        {
            await signIn.SignOutAsync();
            return "ok";
        });
        app.MapPost("/cart", (string item, HttpContext c) =>
        {
            c.Session.SetString("cart", (c.Session.GetString("cart") is { Length: > 0 } cart ? cart + "," : "") + item);
            return "ok";
        });
        app.MapGet("/cart", (HttpContext c) => c.Session.GetString("cart") ?? "");
        app.MapGet("/whoami", (HttpContext c) => c.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : "anonymous");
        await app.StartAsync();
        _instances.Add(app);
    }
}
