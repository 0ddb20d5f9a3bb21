// A minimal API published with native AOT: sessions in etcd, a visit counter and a cart read and written through
// HttpContext.Session, every JSON body and session value through a source-generated context (no reflection).
using Etcd.AspNetCore.Session;
using EtcdSessionStore.AotApp;
using Microsoft.AspNetCore.DataProtection;

// [aot-app]
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AotAppJsonContext.Default));
builder.Services.AddEtcdSession(builder.Configuration.GetSection("EtcdSession"));
builder.Services.AddDataProtection()
    .SetApplicationName("EtcdSessionStore.AotApp")
    .PersistKeysToEtcd(); // every instance reads every other instance's cookies

var app = builder.Build();
app.UseEtcdSession();

app.MapGet("/counter", (HttpContext context) =>
{
    var count = (context.Session.GetInt32("count") ?? 0) + 1;
    context.Session.SetInt32("count", count);
    return new Counter(count);
});

// The return type is written out: the request delegate generator cannot infer it from the `??`.
app.MapGet("/cart", Cart (HttpContext context) =>
    context.Session.GetJson("cart", AotAppJsonContext.Default.Cart) ?? new Cart([]));

app.MapPost("/cart", (CartLine line, HttpContext context) =>
{
    if (string.IsNullOrWhiteSpace(line.Sku) || line.Quantity is < 1 or > 99)
    {
        return Results.BadRequest();
    }

    var cart = context.Session.GetJson("cart", AotAppJsonContext.Default.Cart) ?? new Cart([]);
    cart = new Cart([.. cart.Lines, line]);
    context.Session.SetJson("cart", cart, AotAppJsonContext.Default.Cart);
    return Results.Ok(cart);
});

app.Run();
// [/aot-app]
