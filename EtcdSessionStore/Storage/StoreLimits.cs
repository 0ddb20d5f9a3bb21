namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// Fixed limits: etcd's own, and the store's that no option changes. Internal, unlike
/// <see cref="EtcdSessionDefaults"/>: they are not defaults of anything an app sets, and a public constant is
/// compiled into its callers, so it could never change without breaking them.
/// </summary>
internal static class StoreLimits
{
    /// <summary>etcd's own default limit for one request (<c>--max-request-bytes</c>, 1.5 MiB).</summary>
    public const int EtcdMaxRequestBytes = 1_572_864;

    /// <summary>The largest item key accepted by <c>ISession.Set</c>, in UTF-8 bytes.</summary>
    public const int MaxItemKeyBytes = 1024;
}
