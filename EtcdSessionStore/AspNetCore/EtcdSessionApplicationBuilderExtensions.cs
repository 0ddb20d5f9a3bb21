using Etcd.AspNetCore.Session.AspNetCore;
using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session;

/// <summary>Adds the etcd session middleware to the request pipeline.</summary>
public static class EtcdSessionApplicationBuilderExtensions
{
    /// <summary>
    /// Makes <c>HttpContext.Session</c> the etcd session: loaded before the endpoint runs (only when the request
    /// carries a session cookie), committed before the response starts. Use it instead of <c>app.UseSession()</c>,
    /// after authentication and before the endpoints that use the session. Requires <c>services.AddEtcdSession(...)</c>.
    /// </summary>
    public static IApplicationBuilder UseEtcdSession(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<SessionStore>() is null)
        {
            throw new InvalidOperationException("app.UseEtcdSession() needs the etcd session store: call services.AddEtcdSession(...) when configuring services.");
        }

        return app.UseMiddleware<EtcdSessionMiddleware>();
    }
}
