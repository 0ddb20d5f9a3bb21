using Etcd.AspNetCore.Session.Format;

namespace Etcd.AspNetCore.Session.Sessions;

// Binding a session to a user. Every write of a bound session (create, update, touch, rotate, destroy) writes or
// deletes its user-index entry in the same transaction and on the same lease (SessionRepository).
// See docs/sessions-by-user.md.
internal sealed partial class EtcdSession
{
    /// <summary>The user the session is bound to, if any.</summary>
    internal string? UserName => _stored?.Header.User ?? _changes.Binding?.User;

    /// <summary>
    /// Rotates the secret key and binds the session to <paramref name="user"/> in the same transaction
    /// (call it on sign-in). A session not stored yet is written bound at its first commit.
    /// </summary>
    /// <returns>The new secret session key.</returns>
    internal Task<string> BindUserAsync(string user, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        UserSessionIndex.Validate(user, metadata);
        var copy = metadata is null ? null : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        return RotateAsync(new UserBinding(user, copy), cancellationToken);
    }
}
