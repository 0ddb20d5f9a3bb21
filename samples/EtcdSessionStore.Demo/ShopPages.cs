using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Etcd.AspNetCore.Session;

namespace EtcdSessionStore.Demo;

/// <summary>
/// The shop's HTML pages: plain forms that post to the same routes scripts use. Every page has the same frame
/// (<see cref="PageFrame"/>): the instance that served it and a link to the other, who is signed in, this session
/// and the live event log. Everything printed that did not come from this file is HTML-encoded.
/// </summary>
internal static class ShopPages
{
    private static readonly string[] Catalogue = ["apple", "bread", "cheese", "coffee"];

    public static string Home(PageFrame frame, IReadOnlyList<string> cart)
    {
        var html = new StringBuilder();
        if (frame.User is null)
        {
            html.Append(SignInForm());
        }

        html.Append("<section class=card><h2>Catalogue</h2><div class=products>");
        foreach (var item in Catalogue)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"""<form method=post action=/cart class=product><input type=hidden name=return value=/><input type=hidden name=item value="{Encode(item)}"><span class=product-name>{Encode(item)}</span><button>Add {Encode(item)}</button></form>""");
        }

        html.Append(CultureInfo.InvariantCulture, $"</div></section><section class=card><h2>Cart ({cart.Count})</h2>");
        if (cart.Count == 0)
        {
            html.Append("<p class=muted>Empty. Add something, then open this page on the other instance: the cart is in etcd, not in this process.</p>");
        }
        else
        {
            html.Append("<ul id=cart>");
            foreach (var item in cart)
            {
                html.Append(CultureInfo.InvariantCulture, $"<li>{Encode(item)}</li>");
            }

            html.Append("</ul>");
        }

        html.Append("</section>");
        return Page(frame, "Shop", html.ToString(), withSessionCard: true);
    }

    public static string Session(PageFrame frame) =>
        Page(frame, "This session", $"""
            <p class=lead>What instance <b>{Encode(frame.Instance)}</b> loaded from etcd for this request. Open the same page on the other
            instance: the same session, because both read it from etcd.</p>
            {SessionCard(frame)}
            <section class=card><h2>Where it lives</h2>
            <p>The browser holds the secret session key, in an HttpOnly cookie. etcd holds the session under a hash of that key,
            on a lease that ends it when it is idle too long. The id above names the session without opening it: it is
            what logs, events and the active sessions page show.</p></section>
            """, withSessionCard: false);

    public static string ActiveSessions(PageFrame frame, string user, IReadOnlyList<SessionView> sessions)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture,
                $"<p class=lead>Where <b>{Encode(user)}</b> is signed in: every browser, whichever instance served it. Sign out a device you do not recognise.</p>")
            .Append("<div class=devices>");
        foreach (var s in sessions.OrderByDescending(s => s.Current).ThenByDescending(s => s.LastSeen))
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <article class="device{(s.Current ? " current" : "")}"><div class=device-main>
                <h3>{Encode(DeviceNames.Describe(s.UserAgent))}{(s.Current ? " <span class=badge>This device</span>" : "")}</h3>
                <p class=ua>{Encode(s.UserAgent ?? "no user agent sent")}</p>
                <p class=times><span>Signed in {Time(s.Created, frame.Now)}</span><span>Last seen {Time(s.LastSeen, frame.Now)}</span><span>Expires unless used {Time(s.ExpiresAt, frame.Now)}</span></p>
                <p class="small muted">Session <code>{Encode(s.Id)}</code></p></div>
                <form method=post action=/sessions/revoke><input type=hidden name=id value="{Encode(s.Id)}"><input type=hidden name=return value="{(s.Current ? "/" : "/account/sessions")}"><button>Sign out this one</button></form>
                </article>
                """);
        }

        html.Append(CultureInfo.InvariantCulture, $"""
            </div>
            <section class="card danger-zone"><h2>All devices</h2><p>Ends every session of {Encode(user)}: each other browser is signed out on its
            next request, on whichever instance serves it, and so is this one.</p>
            <form method=post action=/sessions/revoke-all><input type=hidden name=return value=/><button class=danger>Sign out everywhere</button></form></section>
            """);
        return Page(frame, "Active sessions", html.ToString(), withSessionCard: true);
    }

    // The sign-in form; options of the sign-in (such as "remember me") go in here.
    private static string SignInForm() => """
        <section class=card><h2>Sign in</h2>
        <form method=post action=/login class=sign-in><input type=hidden name=return value=/>
        <label>User <input name=user required maxlength=64 autocomplete=username></label> <label class=remember><input type=checkbox name=remember> Remember me for 14 days</label> <button class=primary>Sign in</button></form>
        <p class=muted>Any name will do: the demo has no passwords. Signing in moves the session to a new key (a "Rotated" event) and keeps the cart.</p>
        </section>
        """;

    private static string SessionCard(PageFrame frame) => frame.Session is not { } s
        ? "<section class=card id=this-session><h2>This session</h2><p class=warning>Unavailable: etcd could not be reached for this request.</p></section>"
        : $"""
            <section class=card id=this-session><h2>This session</h2><dl>
            <dt>Id (not secret)</dt><dd><code>{Encode(s.Id)}</code></dd>
            <dt>User</dt><dd>{(s.UserName is { } u ? Encode(u) : "<span class=muted>none (anonymous)</span>")}</dd>
            <dt>Revision</dt><dd>{(s.Revision is { } r ? $"<code>{r.ToString(CultureInfo.InvariantCulture)}</code> <span class=muted>(etcd mod_revision of its last write)</span>" : "<span class=muted>not stored yet</span>")}</dd>
            {(s.Created is null ? "<dt>Stored</dt><dd><span class=muted>not yet: a session is stored on its first write</span></dd>"
                : $"<dt>Created</dt><dd>{Time(s.Created, frame.Now)}</dd><dt>Expires unless used</dt><dd>{Time(s.ExpiresAt, frame.Now)}</dd>")}
            </dl></section>
            """;

    // The live event log; a page that refreshes it in place would replace this section.
    /// <summary>Replaces the event log every 3 s with a fresh one from <c>/events/log</c> (rendered and encoded by the server).</summary>
    private const string PollEventLog =
        "<script>setInterval(() => fetch('/events/log').then(r => r.ok ? r.text() : null).then(html => { const log = document.getElementById('event-log'); if (html && log) { log.outerHTML = html; } }), 3000);</script>";

    /// <summary>The event log alone: what the pages fetch every few seconds to refresh it in place.</summary>
    public static string EventLogFragment(PageFrame frame) => EventLog(frame);

    private static string EventLog(PageFrame frame)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture,
            $"<section class=card id=event-log><h2>Live event log</h2><p class=muted>Session events from every instance, as instance {Encode(frame.Instance)} sees them through its etcd watch. Newest first; it refreshes itself every 3 s from <code>/events/log</code>, an endpoint marked <code>WithoutSessionRefresh()</code>, so an open tab does not keep an abandoned session alive.</p>");
        if (frame.EventsProblem is { } problem)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=warning>{Encode(problem)}</p>");
        }

        if (frame.Events.Count == 0)
        {
            return html.Append("<p class=muted>No events yet: add something to the cart.</p></section>").ToString();
        }

        html.Append("<table><thead><tr><th>Seen</th><th>Event</th><th>Session</th><th>User</th><th>Revision</th></tr></thead><tbody>");
        foreach (var e in frame.Events)
        {
            var mine = e.SessionId is not null && e.SessionId == frame.Session?.Id;
            var kind = e.Kind.ToString();
            var user = Encode(e.UserName ?? "");
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr{(mine ? " class=mine" : "")}>
                <td>{e.ObservedAt.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}</td>
                <td><span class="kind {kind.ToLowerInvariant()}">{kind}</span></td>
                <td>{ShortId(e.SessionId)}{(mine ? " <span class=badge>this session</span>" : "")}</td>
                <td class=user title="{user}">{user}</td>
                <td>{e.Revision.ToString(CultureInfo.InvariantCulture)}</td></tr>
                """);
        }

        return html.Append("</tbody></table></section>").ToString();
    }

    private static string Page(PageFrame frame, string title, string content, bool withSessionCard)
    {
        var nav = new StringBuilder();
        foreach (var (path, name) in new[] { ("/", "Shop"), ("/session", "This session") }.Concat(frame.User is null ? [] : [("/account/sessions", "Active sessions")]))
        {
            nav.Append(CultureInfo.InvariantCulture, $"""<a href="{path}"{(path == frame.Path ? " aria-current=page" : "")}>{name}</a>""");
        }

        var who = frame.User is { } user
            ? $"<span>Signed in as <b>{Encode(user)}</b></span><form method=post action=/logout><input type=hidden name=return value=/><button>Sign out</button></form>"
            : "<span class=muted>Not signed in</span>";
        var peer = frame.PeerUrl is { } url
            ? $"""<a class=peer href="{Encode(url)}">Open this page on instance {Encode(frame.PeerName!)} &rarr;</a>"""
            : "";
        return $"""
            <!doctype html>
            <html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
            <title>{Encode(title)} - etcd session shop ({Encode(frame.Instance)})</title><link rel=stylesheet href=/demo.css></head>
            <body style="--instance-hue: {HueOf(frame.Instance).ToString(CultureInfo.InvariantCulture)}">
            <header class=top><a class=brand href="/">etcd session shop</a><nav>{nav}</nav><div class=who>{who}</div></header>
            <div class=instance><span>Served by instance <b>{Encode(frame.Instance)}</b> <span class=muted>(process {frame.ProcessId.ToString(CultureInfo.InvariantCulture)})</span></span>{peer}</div>
            <main><div class=content><h1>{Encode(title)}</h1>{content}</div>
            <aside>{(withSessionCard ? SessionCard(frame) : "")}{EventLog(frame)}</aside></main>
            {PollEventLog}
            </body></html>
            """;
    }

    private static string ShortId(string? id) =>
        id is null ? "<span class=muted>-</span>" : $"""<code title="{Encode(id)}">{Encode(id.Length > 8 ? id[..8] : id)}</code>""";

    private static string Time(DateTimeOffset? time, DateTimeOffset now)
    {
        if (time is not { } t)
        {
            return "<span class=muted>not stored yet (nothing written to this session)</span>";
        }

        var utc = t.ToUniversalTime();
        var clock = utc.ToString(utc.Date == now.UtcDateTime.Date ? "HH:mm:ss" : "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        return $"""<time datetime="{utc.ToString("O", CultureInfo.InvariantCulture)}">{clock} UTC</time> <span class=muted>({Relative(utc - now)})</span>""";
    }

    private static string Relative(TimeSpan delta)
    {
        var span = delta.Duration();
        if (span < TimeSpan.FromSeconds(2))
        {
            return "just now";
        }

        var amount = span switch
        {
            _ when span < TimeSpan.FromMinutes(1) => $"{(int)span.TotalSeconds} s",
            _ when span < TimeSpan.FromHours(1) => $"{(int)span.TotalMinutes} min",
            _ when span < TimeSpan.FromDays(2) => $"{(int)span.TotalHours} h",
            _ => $"{(int)span.TotalDays} days",
        };
        return delta > TimeSpan.Zero ? "in " + amount : amount + " ago";
    }

    // A colour per instance, so that a glance tells :5000 from :5001.
    private static int HueOf(string instance) =>
        (int)((uint)instance.Aggregate(17, (hash, c) => unchecked((hash * 31) + c)) % 360u * 137u % 360u);

    private static string Encode(string text) => HtmlEncoder.Default.Encode(text);
}
