using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Etcd.AspNetCore.Session;

namespace EtcdSessionStore.Demo;

/// <summary>The shop's HTML pages: plain forms that post to the same routes scripts use.</summary>
internal static class ShopPages
{
    private static readonly string[] Catalogue = ["apple", "bread", "cheese", "coffee"];

    public static string Home(string? user, IReadOnlyList<string> cart)
    {
        var html = new StringBuilder();
        if (user is null)
        {
            html.Append("<form method=post action=/login><input type=hidden name=return value=/>")
                .Append("<label>User <input name=user required maxlength=64></label> <button>Sign in</button></form>");
        }
        else
        {
            html.Append(CultureInfo.InvariantCulture, $"<p>Signed in as <b>{Encode(user)}</b>. <a href=/account/sessions>Active sessions</a></p>")
                .Append("<form method=post action=/logout><input type=hidden name=return value=/><button>Sign out</button></form>");
        }

        html.Append("<h2>Catalogue</h2>");
        foreach (var item in Catalogue)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<form method=post action=/cart style=display:inline><input type=hidden name=return value=/><input type=hidden name=item value={item}><button>Add {item}</button></form> ");
        }

        html.Append(CultureInfo.InvariantCulture, $"<h2>Cart ({cart.Count})</h2><ul>");
        foreach (var item in cart)
        {
            html.Append(CultureInfo.InvariantCulture, $"<li>{Encode(item)}</li>");
        }

        html.Append("</ul><p><a href=/session>About this session</a></p>");
        return Page("Shop", html.ToString());
    }

    public static string Session(EtcdSessionInfo info, string host, int processId) =>
        Page("Session", $"""
            <table>
            <tr><th>Session id (not secret)</th><td>{Encode(info.Id)}</td></tr>
            <tr><th>Created</th><td>{Format(info.Created)}</td></tr>
            <tr><th>Expires unless used</th><td>{Format(info.ExpiresAt)}</td></tr>
            <tr><th>Served by</th><td>{Encode(host)} (process {processId})</td></tr>
            </table>
            <p><a href=/>Back to the shop</a></p>
            """);

    public static string ActiveSessions(string user, IReadOnlyList<SessionView> sessions)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<p>Sessions of <b>{Encode(user)}</b>, in every browser, on every instance.</p>")
            .Append("<table><tr><th>Session id (not secret)</th><th>Browser</th><th>Signed in</th><th>Last seen</th><th>Expires unless used</th><th></th></tr>");
        foreach (var s in sessions)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Encode(s.Id)}{(s.Current ? " (this browser)" : "")}</td><td>{Encode(s.UserAgent ?? "?")}</td><td>{Format(s.Created)}</td><td>{Format(s.LastSeen)}</td><td>{Format(s.ExpiresAt)}</td>")
                .Append(CultureInfo.InvariantCulture,
                    $"<td><form method=post action=/sessions/revoke><input type=hidden name=id value={Encode(s.Id)}><input type=hidden name=return value={(s.Current ? "/" : "/account/sessions")}><button>Sign out this one</button></form></td></tr>");
        }

        html.Append("</table>")
            .Append("<form method=post action=/sessions/revoke-all><input type=hidden name=return value=/><button>Sign out everywhere</button></form>")
            .Append("<p><a href=/>Back to the shop</a></p>");
        return Page("Active sessions", html.ToString());
    }

    private static string Format(DateTimeOffset? time) =>
        time?.ToString("u", CultureInfo.InvariantCulture) ?? "not stored yet (nothing written to this session)";

    private static string Encode(string text) => HtmlEncoder.Default.Encode(text);

    private static string Page(string title, string body) =>
        $"<!doctype html><html><head><meta charset=utf-8><title>{title} - etcd session demo</title></head><body><h1>{title}</h1>{body}</body></html>";
}
