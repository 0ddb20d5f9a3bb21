using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>The session feature of an endpoint marked <c>WithoutSession()</c>: using the session there is a mistake that says why.</summary>
internal sealed class NoSessionFeature : ISessionFeature
{
    public static readonly NoSessionFeature Instance = new();

    public ISession Session
    {
        get => throw new InvalidOperationException(
            "This endpoint is marked WithoutSession() (or [WithoutSession]): the session is neither loaded nor written here. Remove the marker to use HttpContext.Session.");
        set => throw new NotSupportedException("The etcd session of a request cannot be replaced.");
    }
}
