namespace Etcd.AspNetCore.Session;

/// <summary>
/// The one exception type of the etcd session store. <see cref="Kind"/> tells why; an etcd or gRPC
/// failure is the <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class EtcdSessionException : Exception
{
    /// <summary>Creates an exception of the given kind.</summary>
    public EtcdSessionException(EtcdSessionErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>Why the operation failed.</summary>
    public EtcdSessionErrorKind Kind { get; }
}
