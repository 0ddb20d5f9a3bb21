using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// Session secrets and the names derived from them. The secret (what the cookie carries) never reaches
/// etcd: the etcd key is a SHA-256 of it, so read access to etcd does not let anyone take over a session.
/// </summary>
internal static class SessionKeys
{
    /// <summary>256 bits from the OS CSPRNG, as 43 base64url characters.</summary>
    public static string NewSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>A non-secret, loggable session id: 128 random bits, 32 hex characters.</summary>
    public static string NewPublicId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The marker a rotation leaves for a short while where the session used to be, so that a request still carrying
    /// the old key learns that the session moved (and neither writes a new session nor deletes the cookie). It holds
    /// nothing: the old key never leads to the new one.
    /// </summary>
    public static string MovedMarker(string keyPrefix, string storageKey) => keyPrefix + "moved/" + storageKey[SessionsPrefix(keyPrefix).Length..];

    /// <summary>The etcd key of the session whose secret is <paramref name="secret"/>.</summary>
    public static string StorageKey(string keyPrefix, string secret) => SessionsPrefix(keyPrefix) + Hash(secret);

    /// <summary>The prefix under which every session value of an application lives.</summary>
    public static string SessionsPrefix(string keyPrefix) => keyPrefix + "s/";

    /// <summary>The etcd key of the sign-in ticket whose reference (what the sign-in cookie carries) is <paramref name="reference"/>.</summary>
    public static string TicketStorageKey(string keyPrefix, string reference) => TicketsPrefix(keyPrefix) + Hash(reference);

    /// <summary>The prefix under which every sign-in ticket of an application lives.</summary>
    public static string TicketsPrefix(string keyPrefix) => keyPrefix + "t/";

    /// <summary>
    /// The non-secret id of a sign-in ticket (32 hex characters), derived from its reference so that a renewal
    /// can name the ticket's index entry without reading the ticket first. One-way, like the etcd key, and
    /// unlike it, so neither can be computed from the other.
    /// </summary>
    public static string TicketId(string reference) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("ticket-id/" + reference)).AsSpan(0, 16));

    /// <summary>The base64url SHA-256 of <paramref name="secret"/>: how a secret (or a user name) becomes part of an etcd key.</summary>
    public static string Hash(string secret)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(secret), digest);
        return Base64Url.EncodeToString(digest);
    }
}
