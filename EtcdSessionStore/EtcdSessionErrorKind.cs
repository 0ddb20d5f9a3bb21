namespace Etcd.AspNetCore.Session;

/// <summary>Why an <see cref="EtcdSessionException"/> was thrown.</summary>
public enum EtcdSessionErrorKind
{
    /// <summary>etcd could not be reached, or refused the call for a transient reason.</summary>
    Unavailable,

    /// <summary>An etcd call did not finish within <see cref="EtcdSessionOptions.IOTimeout"/>. A timed-out write may still have been applied.</summary>
    Timeout,

    /// <summary>The session value is larger than <see cref="EtcdSessionOptions.MaxSessionBytes"/> or etcd's request limit.</summary>
    TooLarge,

    /// <summary>
    /// The changes were not stored because of other requests: the session kept changing for longer than
    /// <see cref="EtcdSessionOptions.IOTimeout"/>, or it was rotated, destroyed or expired while the request ran.
    /// </summary>
    Conflict,

    /// <summary>The stored value could not be read: unknown format revision, corrupt body or unknown serializer.</summary>
    CorruptData,

    /// <summary>etcd refused the credentials or the user lacks permission on the key prefix.</summary>
    PermissionDenied,

    /// <summary>etcd answered with an error the store does not expect.</summary>
    EtcdError,
}
