namespace Etcd.AspNetCore.Session;

/// <summary>
/// Marks an endpoint (a controller, an action, or a minimal API handler) that does not use the session:
/// <c>app.UseEtcdSession()</c> neither loads, refreshes nor writes it there and sends no session cookie, so a request
/// with a cookie costs no etcd call. <c>HttpContext.Session</c> throws <see cref="InvalidOperationException"/> there.
/// The same as <see cref="EtcdSessionEndpointConventionBuilderExtensions.WithoutSession{TBuilder}"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method | AttributeTargets.Delegate, Inherited = true, AllowMultiple = false)]
public sealed class WithoutSessionAttribute : Attribute;
