using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Format;

/// <summary>
/// The transactions that delete a session together with its user-index entry: exact-key deletes, never a
/// prefix delete, and never the entry without its session or the session without its entry.
/// </summary>
internal static class SessionRemoval
{
    /// <summary>Deletes the session if it is still at <paramref name="modRevision"/>; otherwise reads it back.</summary>
    public static TxnRequest Guarded(string keyPrefix, string storageKey, long modRevision, SessionHeader header)
    {
        var key = ByteString.CopyFromUtf8(storageKey);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision });
        AddDeletes(txn, keyPrefix, storageKey, header);
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        return txn;
    }

    /// <summary>Deletes the session and, when <paramref name="header"/> names a user, its entry.</summary>
    public static TxnRequest Unguarded(string keyPrefix, string storageKey, SessionHeader? header)
    {
        var txn = new TxnRequest();
        AddDeletes(txn, keyPrefix, storageKey, header);
        return txn;
    }

    /// <summary>
    /// Adds to <paramref name="txn"/> the revoke of the session an index entry points to, guarded on the
    /// entry's revision: every write of a bound session rewrites its entry, so an unchanged entry still names
    /// the session's current etcd key.
    /// </summary>
    public static void AddRevoke(TxnRequest txn, UserSessionEntry entry)
    {
        var entryKey = ByteString.CopyFromUtf8(entry.EntryKey);
        txn.Compare.Add(new Compare { Key = entryKey, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = entry.ModRevision });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(entry.StorageKey) } });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = entryKey } });
    }

    private static void AddDeletes(TxnRequest txn, string keyPrefix, string storageKey, SessionHeader? header)
    {
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(storageKey) } });
        if (header?.User is { } user)
        {
            txn.Success.Add(UserSessionIndex.Delete(keyPrefix, user, header.Id));
        }
    }
}
