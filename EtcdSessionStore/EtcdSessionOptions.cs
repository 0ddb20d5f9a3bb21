using dotnet_etcd.interfaces;
using Microsoft.AspNetCore.Http;
using Etcd.AspNetCore.Session.Serialization;

namespace Etcd.AspNetCore.Session;

/// <summary>Settings of the etcd session store.</summary>
public sealed class EtcdSessionOptions
{
    /// <summary>
    /// Comma-separated etcd client endpoints, each <c>http://host:port</c> or <c>https://host:port</c>.
    /// List every cluster member: calls are balanced over all of them.
    /// </summary>
    /// <value>The default value is <c>http://127.0.0.1:2379</c>.</value>
    public string Endpoints { get; set; } = EtcdSessionDefaults.Endpoints;

    /// <summary>etcd user name, when etcd authentication is enabled.</summary>
    /// <value>The default value is <see langword="null"/> (no authentication).</value>
    public string? Username { get; set; }

    /// <summary>etcd password for <see cref="Username"/>. Never logged or printed.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Password { get; set; }

    /// <summary>Prefix of every etcd key the store writes. Give each application its own.</summary>
    /// <value>The default value is <c>aspnet-sessions/</c>.</value>
    public string KeyPrefix { get; set; } = EtcdSessionDefaults.KeyPrefix;

    /// <summary>The shortest idle timeout: etcd's shortest lease.</summary>
    internal static readonly TimeSpan MinIdleTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The longest idle timeout.</summary>
    internal static readonly TimeSpan MaxIdleTimeout = TimeSpan.FromDays(365);

    /// <summary>How long a session lives after it was last used (sliding expiry).</summary>
    /// <value>The default value is 20 minutes.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>How long a session may live from its creation however active it is, or <see langword="null"/> for no limit.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? AbsoluteTimeout { get; set; }

    /// <summary>
    /// How often a session that is only read has its idle expiry pushed forward. A read-only request makes
    /// one extra etcd call at most once per interval per session; in between, the expiry may lag by up to
    /// this much. <see langword="null"/> means a tenth of <see cref="IdleTimeout"/>, at most one minute.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? RefreshInterval { get; set; }

    /// <summary>The near cache of sessions in this app instance (configuration section <c>EtcdSession:NearCache</c>).</summary>
    public NearCacheOptions NearCache { get; set; } = new();

    /// <summary>
    /// Interceptors of the store's own streams (the near cache's watch): a seam for tests. A field, so that the
    /// configuration binding generator, which binds properties and cannot bind these, leaves it alone.
    /// </summary>
    internal Grpc.Core.Interceptors.Interceptor[] StreamInterceptors = [];

    /// <summary>
    /// Interceptors of the store's unary etcd calls, on a store without etcd authentication (dotnet-etcd's client with
    /// credentials takes none): a seam for tests, which fail or drop calls with it. A field, as <see cref="StreamInterceptors"/>.
    /// </summary>
    internal Grpc.Core.Interceptors.Interceptor[] CallInterceptors = [];

    /// <summary>The deadline of each etcd call.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan IOTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest stored session value, in bytes, checked before it is sent to etcd.</summary>
    /// <value>The default value is 1 MiB (etcd's own request limit is 1.5 MiB).</value>
    public int MaxSessionBytes { get; set; } = EtcdSessionDefaults.MaxSessionBytes;

    /// <summary>
    /// The serializer that writes session items: a registered name, case-insensitive (built in: <c>JSON</c>,
    /// <c>YAML</c>, <c>Binary</c>; more with <see cref="AddSerializer"/>), or the assembly-qualified name of a
    /// class that implements <see cref="ISessionSerializer"/> (<c>MyApp.Sessions.MySerializer, MyApp</c>),
    /// created through dependency injection. Sessions written by any registered serializer stay readable
    /// after this changes; they are rewritten with the new one on their next change.
    /// </summary>
    /// <value>The default value is <c>JSON</c>.</value>
    public string Serializer { get; set; } = EtcdSessionDefaults.Serializer;

    /// <summary>
    /// Seal session items in etcd with AES-256-GCM under keys from the app's Data Protection key ring, so that whoever
    /// reads etcd, a snapshot or a backup cannot read them. The header of each value (public id, times, serializer, user
    /// binding) stays readable, so the directory, events and expiry work as before. Values are opened whichever way this
    /// is set: a change applies to each session from its next write. Keep the key ring out of reach of etcd's readers
    /// (with <c>PersistKeysToEtcd()</c>, protect the keys, e.g. <c>ProtectKeysWithCertificate</c>): see docs/security.md.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool EncryptAtRest { get; set; }

    // Connection security and client reuse.

    /// <summary>
    /// PEM file with the CA certificate(s) that signed etcd's server certificate. With <c>https://</c>
    /// endpoints the server chain is verified against these CAs only (the system store is not consulted) and
    /// the host name must match. Without it, <c>https://</c> endpoints are verified against the system store.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? TlsCaCertificateFile { get; set; }

    /// <summary>PEM file with the client certificate for etcd's client-certificate authentication (<c>--client-cert-auth</c>); needs <see cref="TlsClientKeyFile"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? TlsClientCertificateFile { get; set; }

    /// <summary>PEM file with the private key of <see cref="TlsClientCertificateFile"/> (unencrypted PKCS#8, PKCS#1 or EC key).</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? TlsClientKeyFile { get; set; }

    /// <summary>
    /// Supplies an etcd client the app already has instead of one built from <see cref="Endpoints"/>, the
    /// credentials and the TLS settings, which are then ignored. The store never disposes a client it did
    /// not create.
    /// </summary>
    /// <value>The default value is <see langword="null"/> (the store creates and owns its client).</value>
    public Func<IServiceProvider, IEtcdClient>? ClientFactory { get; set; }

    /// <summary>
    /// Options given to the serializers for writing (case-insensitive keys), e.g. <c>Indent</c> = <c>true</c>
    /// for <c>JSON</c>. Each serializer reads the keys it knows (see <see cref="SessionSerializerOptions"/>).
    /// </summary>
    /// <value>The default value is empty.</value>
    public Dictionary<string, string> SerializeOptions { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Options given to the serializers for reading (case-insensitive keys).</summary>
    /// <value>The default value is empty.</value>
    public Dictionary<string, string> DeserializeOptions { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Serializers registered in code by name, besides the built-in ones.</summary>
    internal Dictionary<string, Func<IServiceProvider, SessionSerializerOptions, ISessionSerializer>> CustomSerializers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Registers a serializer under <paramref name="name"/> (which must equal its <see cref="ISessionSerializer.Name"/>),
    /// so that <see cref="Serializer"/> can name it and sessions it wrote stay readable when another one is configured.
    /// </summary>
    /// <param name="name">The serializer's name; not one of the built-in names.</param>
    /// <param name="factory">Creates the serializer once, at start-up, from the app's services and the serializer options.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or a built-in name.</exception>
    public EtcdSessionOptions AddSerializer(string name, Func<IServiceProvider, SessionSerializerOptions, ISessionSerializer> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (SessionSerializerResolver.IsBuiltIn(name))
        {
            throw new ArgumentException($"'{name}' is the name of a built-in serializer; register yours under another name.", nameof(name));
        }

        CustomSerializers[name] = factory;
        return this;
    }

    // ASP.NET Core integration (app.UseEtcdSession()).

    /// <summary>
    /// The session cookie. It carries the secret session key, protected with ASP.NET Core Data Protection.
    /// Configuration keys: <c>Cookie:Name</c>, <c>Cookie:Path</c>, <c>Cookie:Domain</c>, <c>Cookie:HttpOnly</c>,
    /// <c>Cookie:SameSite</c>, <c>Cookie:SecurePolicy</c>, <c>Cookie:IsEssential</c>.
    /// </summary>
    /// <value>
    /// The default value is a cookie named <c>.Etcd.Session</c>, path <c>/</c>, HttpOnly, SameSite Lax, Secure whenever
    /// the request is HTTPS (<see cref="CookieSecurePolicy.SameAsRequest"/>), essential (sent without consent).
    /// It is a browser-session cookie: the session's lifetime is enforced in etcd.
    /// </value>
    public CookieBuilder Cookie { get; set; } = new()
    {
        Name = EtcdSessionDefaults.CookieName,
        Path = EtcdSessionDefaults.CookiePath,
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        SecurePolicy = CookieSecurePolicy.SameAsRequest,
        IsEssential = true,
    };

    /// <summary>What a request gets when etcd cannot be reached while its session is loaded.</summary>
    /// <value>The default value is <see cref="EtcdSessionUnavailableBehavior.FailRequest"/> (a 503 response).</value>
    public EtcdSessionUnavailableBehavior UnavailableBehavior { get; set; } = EtcdSessionUnavailableBehavior.FailRequest;

    /// <summary>Move the session to a new secret key when the app signs a user in (<c>HttpContext.SignInAsync</c>).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RegenerateIdOnSignIn { get; set; } = true;

    /// <summary>Destroy the session when the app signs the user out (<c>HttpContext.SignOutAsync</c>).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DestroyOnSignOut { get; set; } = true;

    /// <summary>
    /// Sign a user out when their session ends: a signed-in request whose session is no longer bound to that user
    /// (revoked, "sign out everywhere", destroyed elsewhere, expired) is signed out by <c>app.UseEtcdSession()</c>
    /// before the endpoint runs, so the endpoint sees an anonymous user and the sign-in cookie is deleted. Needs
    /// <see cref="RegenerateIdOnSignIn"/>, which binds sessions to their users; not applied while etcd is unreachable.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool EndSignInWithSession { get; set; }

    /// <summary>
    /// The most live sessions one user may have. When signing a user in (<c>HttpContext.SignInAsync</c>) binds
    /// a session that makes the user's count go over it, that user's oldest sessions (by creation time) are
    /// ended, as <see cref="EtcdSessionDirectory.RevokeAsync"/> ends them; the session signing in is never one
    /// of them, and other users' sessions are never touched. <see langword="null"/> means no limit. Two
    /// sign-ins of one user at the same moment can leave one session over the limit, or with a limit of 1 end
    /// each other: see docs/sessions-by-user.md.
    /// </summary>
    /// <value>The default value is <see langword="null"/> (no limit).</value>
    public int? MaxSessionsPerUser { get; set; }

    /// <summary>
    /// The name of a header that carries the session token as an alternative to the cookie, for APIs and native
    /// clients (as Spring Session's <c>HeaderHttpSessionIdResolver</c>), e.g. <c>X-Session-Token</c>. The token is
    /// the same Data Protection–protected secret key as the cookie, opaque to clients, and not the session's id
    /// (<c>ISession.Id</c>). A request that sends it is served from it (it wins over the cookie); every response
    /// that creates or rotates a session returns the new token in it, and one that ends the session returns it
    /// empty. See docs/configuration.md.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the cookie only.</value>
    public string? SessionTokenHeaderName { get; set; }

    /// <summary>
    /// The import of live sessions from the app's previous store, the stock <c>AddSession()</c> over its
    /// <c>IDistributedCache</c> (configuration section <c>EtcdSession:Import</c>): see docs/migration.md.
    /// </summary>
    /// <value>The default value is the import switched off.</value>
    public SessionImportOptions Import { get; set; } = new();

    /// <summary>The refresh interval in force: <see cref="RefreshInterval"/>, or its default.</summary>
    internal TimeSpan EffectiveRefreshInterval =>
        RefreshInterval ?? TimeSpan.FromTicks(Math.Min(IdleTimeout.Ticks / 10, TimeSpan.FromMinutes(1).Ticks));

    /// <inheritdoc />
    public override string ToString() =>
        $"Endpoints={Endpoints}, Username={Username ?? "(none)"}, Password={(Password is null ? "(none)" : "*****")}, " +
        $"KeyPrefix={KeyPrefix}, IdleTimeout={IdleTimeout}, AbsoluteTimeout={AbsoluteTimeout?.ToString() ?? "(none)"}, " +
        $"IOTimeout={IOTimeout}, Serializer={Serializer}, " +
        $"Cookie={Cookie?.Name}, UnavailableBehavior={UnavailableBehavior}, RegenerateIdOnSignIn={RegenerateIdOnSignIn}, DestroyOnSignOut={DestroyOnSignOut}, " +
        $"NearCache={(NearCache.Enabled ? $"on (MaxStaleness={NearCache.MaxStaleness}, SizeLimit={NearCache.SizeLimit})" : "off")}";
}
