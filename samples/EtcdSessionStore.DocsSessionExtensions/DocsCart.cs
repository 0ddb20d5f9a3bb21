// A cart kept with the docs' helpers, in a file that also uses the etcd store's API: both sets of extension
// methods on ISession are in scope here, from namespaces imported side by side.
using Etcd.AspNetCore.Session;
using Web.Extensions;

public static class DocsCart
{
    public const string Key = "cart";

    /// <summary>POST /cart (form field <c>item</c>) adds an item; GET /cart returns the items and the session's non-secret id.</summary>
    public static IEndpointRouteBuilder MapDocsCart(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/cart", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var cart = context.Session.Get<List<string>>(Key) ?? [];
            cart.Add(form["item"].ToString());
            context.Session.Set(Key, cart);
            return Results.Ok(cart);
        });
        routes.MapGet("/cart", (HttpContext context) => Results.Ok(new
        {
            sessionId = context.Session.GetInfo().SessionId,
            items = context.Session.Get<List<string>>(Key) ?? [],
        }));
        return routes;
    }
}
