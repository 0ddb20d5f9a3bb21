namespace Etcd.AspNetCore.Session;

/// <summary>
/// The import of sessions from the app's previous store, the stock ASP.NET Core session (<c>AddSession()</c>) over the
/// app's <c>IDistributedCache</c>: a request that carries the stock session cookie and no cookie of this store gets its
/// old session's items in a new etcd session, under a new key, and the stock cookie is expired. Switch stores without
/// logging anyone out; see docs/migration.md.
/// </summary>
public sealed class SessionImportOptions
{
    /// <summary>
    /// Import sessions from the previous store. Needs the app's <c>IDistributedCache</c> registered as the previous
    /// version registered it (<c>AddStackExchangeRedisCache</c>, say) and the same Data Protection key ring.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>The name of the stock session cookie (the previous version's <c>SessionOptions.Cookie.Name</c>).</summary>
    /// <value>The default value is <c>.AspNetCore.Session</c>.</value>
    public string CookieName { get; set; } = StockCookieName;

    /// <summary>The path of the stock session cookie, needed to expire it (the previous version's <c>SessionOptions.Cookie.Path</c>).</summary>
    /// <value>The default value is <c>/</c>.</value>
    public string CookiePath { get; set; } = "/";

    /// <summary>The domain of the stock session cookie, if the previous version set one (<c>SessionOptions.Cookie.Domain</c>).</summary>
    /// <value>The default value is <see langword="null"/> (the request's host).</value>
    public string? CookieDomain { get; set; }

    /// <summary>
    /// Remove an imported session from the previous store once its items are stored in etcd, so that the stock cookie
    /// opens nothing afterwards. Keep it <see langword="false"/> only while a rollback to the previous version must find
    /// the sessions as they were at the switch.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DeleteImported { get; set; } = true;

    /// <summary>
    /// When the import switches itself off: from then on the stock cookie is ignored (a request with it alone starts a
    /// new session). Set it to the time of the switch plus the previous version's <c>SessionOptions.IdleTimeout</c>
    /// (20 minutes by default), or a little more: no stock session outlives that. <see langword="null"/> imports for as long as <see cref="Enabled"/> is on.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public DateTimeOffset? Until { get; set; }

    /// <summary>
    /// How long a second request with the same stock cookie (another tab, sent before the first answer arrived) is
    /// given the session the first one imported. A field, so that configuration binding leaves it alone: a seam for tests.
    /// </summary>
    internal TimeSpan ClaimLifetime = TimeSpan.FromMinutes(1);

    /// <summary>The stock session cookie's default name (<c>SessionDefaults.CookieName</c>).</summary>
    internal const string StockCookieName = ".AspNetCore.Session";

    /// <summary>Whether the import runs at <paramref name="now"/>.</summary>
    internal bool IsOnAt(DateTimeOffset now) => Enabled && (Until is null || now < Until.Value);
}
