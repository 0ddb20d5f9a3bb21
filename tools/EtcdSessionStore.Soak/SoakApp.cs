using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Soak;

/// <summary>
/// A shop with the demo's HTTP surface: POST /login (user), POST /cart (item), GET /cart, POST /logout,
/// GET /health, plus GET /stats (the process's memory after a full GC) for the soak report. Used when no
/// --app is given; the Cake target soaks the demo itself.
/// </summary>
internal static class SoakApp
{
    public static async Task RunAsync(int port, string endpoints)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddEtcdSession(o =>
        {
            o.Endpoints = endpoints;
            o.KeyPrefix = $"soak/{Guid.NewGuid():N}/";
        });
        builder.Services.AddDataProtection();
        var app = builder.Build();
        app.UseEtcdSession();

        app.MapPost("/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            context.Session.SetString("user", form["user"].ToString());
            return Results.NoContent();
        });
        app.MapPost("/cart", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var cart = context.Session.GetString("cart");
            context.Session.SetString("cart", string.IsNullOrEmpty(cart) ? form["item"].ToString() : cart + "\n" + form["item"]);
            return Results.NoContent();
        });
        app.MapGet("/cart", (HttpContext context) =>
            Results.Json((context.Session.GetString("cart") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        app.MapPost("/logout", async (HttpContext context) =>
        {
            await context.Session.DestroyAsync(context.RequestAborted);
            return Results.NoContent();
        });
        app.MapGet("/health", () => "ok");
        app.MapGet("/stats", () =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var self = Process.GetCurrentProcess();
            return Results.Json(new { heapBytes = GC.GetTotalMemory(false), workingSetBytes = self.WorkingSet64 });
        });
        await app.RunAsync();
    }
}
