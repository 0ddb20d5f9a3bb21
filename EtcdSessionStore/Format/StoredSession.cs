using Etcd.AspNetCore.Session.Expiry;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>The version of a session that is in etcd, as this request last saw it.</summary>
/// <param name="Header">The decoded header.</param>
/// <param name="Value">The raw stored value (re-sent unchanged on rotation).</param>
/// <param name="ModRevision">The etcd <c>mod_revision</c>, the guard of the next write.</param>
/// <param name="LeaseId">The etcd lease the key is attached to.</param>
internal sealed record StoredSession(SessionHeader Header, ByteString Value, long ModRevision, long LeaseId)
{
    /// <summary>When the stored session stops being valid: the earlier of its idle and absolute deadlines.</summary>
    public DateTimeOffset? Deadline => SessionDeadline.Of(LeaseId, Header.AbsoluteExpiry);
}
