using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace EtcdSessionStore.MvcTempData;

/// <summary>
/// MVC controllers and Razor Pages whose TempData lives in the session, registered as an app would for the stock
/// session: only <c>AddEtcdSession</c> and <c>UseEtcdSession</c> differ.
/// </summary>
public static class TempDataApp
{
    /// <summary>Controllers with views and Razor Pages from this assembly, TempData kept in the session.</summary>
    public static void AddTempDataApp(this IServiceCollection services)
    {
        var assembly = typeof(TempDataApp).Assembly;
        services.AddControllersWithViews()
            .ConfigureApplicationPartManager(parts => parts.ApplicationParts.Clear()) // only this app's controllers, views and pages
            .AddApplicationPart(assembly)
            .AddSessionStateTempDataProvider();
        services.AddRazorPages().AddSessionStateTempDataProvider();
    }

    /// <summary>The controllers and pages.</summary>
    public static void MapTempDataApp(this IEndpointRouteBuilder routes)
    {
        routes.MapControllers();
        routes.MapRazorPages();
    }
}
