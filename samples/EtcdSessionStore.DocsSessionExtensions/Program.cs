// The app of the ASP.NET Core session docs on the etcd store: AddEtcdSession/UseEtcdSession instead of
// AddSession/UseSession, the docs' own Set<T>/Get<T> helpers unchanged (SessionExtensions.cs).
using Etcd.AspNetCore.Session;
using Web.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddEtcdSession(builder.Configuration.GetSection(EtcdSessionDefaults.ConfigurationSection));

var app = builder.Build();
app.UseEtcdSession();
app.MapGet("/", (HttpContext context) =>
{
    var visits = context.Session.Get<int>("visits") + 1;
    context.Session.Set("visits", visits);
    return $"visit {visits}";
});
app.MapDocsCart();
await app.RunAsync();
