using Etcd.AspNetCore.Session;

namespace EtcdSessionStore.Demo;

/// <summary>
/// What every page shows around its own content: the instance that served it and a link to the same page on the
/// other one, who is signed in, this session (non-secret id, revision, expiry) and the latest session events.
/// </summary>
internal sealed record PageFrame(
    string Path,
    string Instance,
    int ProcessId,
    string? PeerName,
    string? PeerUrl,
    string? User,
    SessionSummary? Session,
    IReadOnlyList<EtcdSessionEvent> Events,
    string? EventsProblem,
    DateTimeOffset Now)
{
    /// <summary>How many events a page shows (the ring keeps more, for <c>GET /events</c>).</summary>
    public const int EventsShown = 12;

    public static PageFrame Of(HttpContext context)
    {
        var instance = context.RequestServices.GetRequiredService<DemoInstance>();
        var ring = context.RequestServices.GetRequiredService<SessionEventRing>();
        var peer = instance.Peer;
        var session = context.Session.IsAvailable && context.Session.GetInfo() is { } info
            ? new SessionSummary(info.SessionId, info.Revision, info.Created, info.ExpiresAt, info.UserName)
            : null; // etcd unreachable under ContinueWithoutSession: the page says so
        return new PageFrame(
            context.Request.Path,
            instance.NameOf(context),
            Environment.ProcessId,
            peer?.Name,
            peer?.UrlOf(context.Request),
            context.User.Identity is { IsAuthenticated: true, Name: { } user } ? user : null,
            session,
            ring.Latest(EventsShown),
            ring.Problem,
            DateTimeOffset.UtcNow);
    }
}

/// <summary>
/// This session as the pages show it. <see cref="Revision"/> is the etcd mod_revision of its last write
/// (<see cref="EtcdSessionInfo.Revision"/>).
/// </summary>
internal sealed record SessionSummary(string Id, long? Revision, DateTimeOffset? Created, DateTimeOffset? ExpiresAt, string? UserName);
