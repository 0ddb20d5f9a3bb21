using Microsoft.AspNetCore.Builder;

namespace Etcd.AspNetCore.Session;

/// <summary>How endpoints use the session under <c>app.UseEtcdSession()</c>.</summary>
public static class EtcdSessionEndpointConventionBuilderExtensions
{
    /// <summary>The endpoint does not use the session (see <see cref="WithoutSessionAttribute"/>).</summary>
    public static TBuilder WithoutSession<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new WithoutSessionAttribute());
    }

    /// <summary>The endpoint reads the session but never extends its expiry (see <see cref="WithoutSessionRefreshAttribute"/>).</summary>
    public static TBuilder WithoutSessionRefresh<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new WithoutSessionRefreshAttribute());
    }
}
