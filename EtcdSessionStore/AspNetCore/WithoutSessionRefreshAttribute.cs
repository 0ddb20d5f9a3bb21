namespace Etcd.AspNetCore.Session;

/// <summary>
/// Marks an endpoint that must not keep the session alive (a page that polls, say): the session is loaded and
/// readable there, but a request never pushes its idle expiry forward, and a write there is stored with the expiry the
/// session already had. The same as <see cref="EtcdSessionEndpointConventionBuilderExtensions.WithoutSessionRefresh{TBuilder}"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method | AttributeTargets.Delegate, Inherited = true, AllowMultiple = false)]
public sealed class WithoutSessionRefreshAttribute : Attribute;
