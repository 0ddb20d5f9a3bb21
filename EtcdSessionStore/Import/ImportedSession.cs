namespace Etcd.AspNetCore.Session.Import;

/// <summary>What the import gives the request.</summary>
/// <param name="Secret">The secret key of the session to load: imported by this request or a concurrent one; <see langword="null"/>: a fresh session.</param>
/// <param name="Failure">Why nothing could be decided (the previous store or etcd failed): <see cref="EtcdSessionOptions.UnavailableBehavior"/> applies.</param>
internal readonly record struct ImportedSession(string? Secret, EtcdSessionException? Failure);
