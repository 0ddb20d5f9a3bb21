using System.Security.Claims;
using Etcd.AspNetCore.Session;
using Microsoft.AspNetCore.Authentication;

namespace EtcdSessionStore.Demo;

/// <summary>
/// "Active sessions": the signed-in user's live sessions in every browser, with "sign out this one" and
/// "sign out everywhere". Sign-in binds the session to the user (the store does it in the same transaction
/// that rotates the key), so <see cref="EtcdSessionDirectory"/> can list and revoke them from any instance.
/// </summary>
internal static class ActiveSessions
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/sessions", async (HttpContext context, EtcdSessionDirectory directory) =>
            UserOf(context) is { } user
                ? Results.Json(await ListAsync(context, directory, user))
                : NotSignedIn());

        app.MapGet("/account/sessions", async (HttpContext context, EtcdSessionDirectory directory) =>
            UserOf(context) is { } user
                ? ShopApp.Html(ShopPages.ActiveSessions(PageFrame.Of(context), user, await ListAsync(context, directory, user)))
                : Results.Redirect("/"));

        // Sign out one session (form field "id"): another browser's, or this one.
        app.MapPost("/sessions/revoke", async (HttpContext context, EtcdSessionDirectory directory) =>
        {
            var form = await ShopForms.ReadAsync(context.Request);
            if (UserOf(context) is not { } user)
            {
                return NotSignedIn();
            }

            var id = form["id"].ToString();
            if (id == context.Session.Id)
            {
                await context.SignOutAsync(); // this browser: destroys its session too
                return ShopApp.Done(form, new { revoked = 1 });
            }

            var revoked = await directory.RevokeAsync(user, id, context.RequestAborted);
            return ShopApp.Done(form, new { revoked = revoked ? 1 : 0 });
        });

        // Sign out everywhere: every other session of the user, then this one.
        // [revoke-all]
        app.MapPost("/sessions/revoke-all", async (HttpContext context, EtcdSessionDirectory directory) =>
        {
            var form = await ShopForms.ReadAsync(context.Request);
            if (UserOf(context) is not { } user)
            {
                return NotSignedIn();
            }

            var revoked = await directory.RevokeAllAsync(user, exceptSessionId: context.Session.Id, context.RequestAborted);
            await context.SignOutAsync();
            return ShopApp.Done(form, new { revoked = revoked + 1 });
        });
        // [/revoke-all]
    }

    private static string? UserOf(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { } user } ? user : null;

    private static async Task<List<SessionView>> ListAsync(HttpContext context, EtcdSessionDirectory directory, string user)
    {
        var sessions = await directory.ListAsync(user, context.RequestAborted);
        return [.. sessions.Select(s => new SessionView(
            s.SessionId,
            s.SessionId == context.Session.Id,
            s.Created,
            s.LastSeen,
            s.ExpiresAt,
            s.Metadata.GetValueOrDefault("userAgent")))];
    }

    private static IResult NotSignedIn() =>
        Results.Problem("Sign in first (POST /login).", statusCode: StatusCodes.Status401Unauthorized);
}

/// <summary>One session as the page and <c>GET /sessions</c> show it: nothing secret.</summary>
internal sealed record SessionView(string Id, bool Current, DateTimeOffset Created, DateTimeOffset LastSeen, DateTimeOffset? ExpiresAt, string? UserAgent);
