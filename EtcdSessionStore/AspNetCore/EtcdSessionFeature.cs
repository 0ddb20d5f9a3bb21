using Etcd.AspNetCore.Session.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>The request's etcd session, as <see cref="HttpContext.Session"/> sees it.</summary>
internal sealed class EtcdSessionFeature : ISessionFeature
{
    public EtcdSessionFeature(EtcdSession session)
    {
        EtcdSession = session;
    }

    public EtcdSession EtcdSession { get; }

    public ISession Session
    {
        get => EtcdSession;
        set => throw new NotSupportedException("The etcd session of a request cannot be replaced.");
    }
}
