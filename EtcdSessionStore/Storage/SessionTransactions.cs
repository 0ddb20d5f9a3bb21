using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The etcd transactions of the session lifecycle and of the index of sessions by user. Each guarded one guards on
/// what the caller last saw and, when the guard fails, reads the key back in the same round trip so the caller can
/// merge and retry.
/// </summary>
internal static class SessionTransactions
{
    /// <summary>Create-if-absent: never overwrites a session another request created.</summary>
    public static TxnRequest Create(string key, ByteString value, long lease)
    {
        var k = ByteString.CopyFromUtf8(key);
        return Guarded(k, [Absent(k)], [Put(k, value, lease)]);
    }

    /// <summary>
    /// An imported session and the claim that names it, in one revision, or nothing when the claim (or the key) exists:
    /// the claim is read back, so a concurrent import of the same stock session joins the one that won.
    /// </summary>
    public static TxnRequest CreateWithClaim(string storageKey, ByteString value, long sessionLease, string claimKey, byte[] protectedSecret, long claimLease)
    {
        var (session, claim) = (ByteString.CopyFromUtf8(storageKey), ByteString.CopyFromUtf8(claimKey));
        return Guarded(claim, [Absent(claim), Absent(session)], [Put(session, value, sessionLease), Put(claim, ByteString.CopyFrom(protectedSecret), claimLease)]);
    }

    /// <summary>Optimistic update on the <c>mod_revision</c> the caller loaded.</summary>
    /// <param name="key">The session's key.</param>
    /// <param name="modRevision">The revision the caller loaded.</param>
    /// <param name="value">The new value.</param>
    /// <param name="lease">The lease to put the key on.</param>
    /// <param name="keepLease">The key is already on <paramref name="lease"/>: etcd keeps it there (<c>ignore_lease</c>).</param>
    public static TxnRequest Update(string key, long modRevision, ByteString value, long lease, bool keepLease = false)
    {
        var k = ByteString.CopyFromUtf8(key);
        var put = keepLease ? new RequestOp { RequestPut = new PutRequest { Key = k, Value = value, IgnoreLease = true } } : Put(k, value, lease);
        return Guarded(k, [ModIs(k, modRevision)], [put]);
    }

    /// <summary>Moves the key to a later expiry lease without resending its value.</summary>
    public static TxnRequest Touch(string key, long modRevision, long lease)
    {
        var k = ByteString.CopyFromUtf8(key);
        return Guarded(k, [ModIs(k, modRevision)], [new RequestOp { RequestPut = new PutRequest { Key = k, IgnoreValue = true, Lease = lease } }]);
    }

    /// <summary>
    /// Change-id: the new key appears with the same value and lease and the old one vanishes, in one
    /// revision, or nothing changes (the old key was modified or the new key already exists). A marker with no content
    /// is left at <paramref name="movedMarker"/>, on <paramref name="markerLease"/>, to say for a while that the old key moved.
    /// </summary>
    public static TxnRequest Rotate(string oldKey, long modRevision, string newKey, ByteString value, long lease, string movedMarker, long markerLease)
    {
        var oldK = ByteString.CopyFromUtf8(oldKey);
        var newK = ByteString.CopyFromUtf8(newKey);
        var txn = Guarded(oldK, [ModIs(oldK, modRevision), Absent(newK)],
        [
            Put(newK, value, lease),
            new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = oldK } },
            Put(ByteString.CopyFromUtf8(movedMarker), ByteString.Empty, markerLease),
        ]);
        // The new key too: if it exists, an earlier attempt of this very rotation was applied (only this
        // request knows the new secret) and its reply was lost.
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = newK } });
        return txn;
    }

    /// <summary>Adds to <paramref name="txn"/> the put of a session's user-index entry, on the session's <paramref name="lease"/>.</summary>
    public static void PutEntry(TxnRequest txn, string entryKey, byte[] entry, long lease) =>
        txn.Success.Add(Put(ByteString.CopyFromUtf8(entryKey), ByteString.CopyFrom(entry), lease));

    /// <summary>Adds to <paramref name="txn"/> the delete of a user-index entry (of a user the session is no longer bound to).</summary>
    public static void DeleteEntry(TxnRequest txn, string entryKey) => txn.Success.Add(Delete(ByteString.CopyFromUtf8(entryKey)));

    /// <summary>
    /// Destroy: deletes the session and, when <paramref name="entryKey"/> is given, its user-index entry, exact keys
    /// both (never a prefix delete, never one without the other). Guarded on <paramref name="modRevision"/> when given,
    /// reading the session back when the guard fails.
    /// </summary>
    public static TxnRequest Remove(string storageKey, long? modRevision, string? entryKey)
    {
        var key = ByteString.CopyFromUtf8(storageKey);
        var txn = new TxnRequest();
        txn.Success.Add(Delete(key));
        if (entryKey is not null)
        {
            txn.Success.Add(Delete(ByteString.CopyFromUtf8(entryKey)));
        }

        if (modRevision is { } revision)
        {
            txn.Compare.Add(ModIs(key, revision));
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        }

        return txn;
    }

    /// <summary>
    /// Revokes the sessions that user-index entries point to, each with its entry, guarded on the entries' revisions:
    /// every write of a bound session rewrites its entry, so an unchanged entry still names the session's current key.
    /// With one entry, the failure branch reads it back (the session moved: follow it).
    /// </summary>
    public static TxnRequest Revoke(IReadOnlyCollection<(string StorageKey, string EntryKey, long EntryModRevision)> entries)
    {
        var txn = new TxnRequest();
        foreach (var (storageKey, entryKey, entryModRevision) in entries)
        {
            var entry = ByteString.CopyFromUtf8(entryKey);
            txn.Compare.Add(ModIs(entry, entryModRevision));
            txn.Success.Add(Delete(ByteString.CopyFromUtf8(storageKey)));
            txn.Success.Add(Delete(entry));
            if (entries.Count == 1)
            {
                txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = entry } });
            }
        }

        return txn;
    }

    /// <summary>
    /// One transaction of several sessions' guarded writes: every guard, every put; on failure, every key read back in
    /// order, without its value (the answer of 64 large sessions would pass gRPC's 4 MB receive limit).
    /// </summary>
    public static TxnRequest Group(IEnumerable<TxnRequest> writes)
    {
        var txn = new TxnRequest();
        foreach (var write in writes)
        {
            txn.Compare.AddRange(write.Compare);
            txn.Success.AddRange(write.Success);
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = write.Failure[0].RequestRange.Key, KeysOnly = true } });
        }

        return txn;
    }

    /// <summary>
    /// Whether every guard of a <see cref="Create"/> or <see cref="Update"/> transaction holds against
    /// <paramref name="current"/>, the key as read back (<see langword="null"/>: absent).
    /// </summary>
    public static bool GuardHolds(TxnRequest txn, Mvccpb.KeyValue? current) => txn.Compare.All(guard => guard.Target switch
    {
        Compare.Types.CompareTarget.Create => (current?.CreateRevision ?? 0) == guard.CreateRevision,
        Compare.Types.CompareTarget.Mod => (current?.ModRevision ?? 0) == guard.ModRevision,
        _ => false,
    });

    /// <summary>The value the failure branch read back, or <see langword="null"/> when the key is gone.</summary>
    public static Mvccpb.KeyValue? ReadBack(TxnResponse response) =>
        response.Responses.Count > 0 && response.Responses[0].ResponseRange is { Kvs.Count: > 0 } range ? range.Kvs[0] : null;

    /// <summary>The new key as the failure branch of <see cref="Rotate"/> read it, or <see langword="null"/> when absent.</summary>
    public static Mvccpb.KeyValue? ReadBackRotated(TxnResponse response) =>
        response.Responses.Count > 1 && response.Responses[1].ResponseRange is { Kvs.Count: > 0 } range ? range.Kvs[0] : null;

    private static TxnRequest Guarded(ByteString key, Compare[] guards, RequestOp[] onSuccess)
    {
        var txn = new TxnRequest();
        txn.Compare.AddRange(guards);
        txn.Success.AddRange(onSuccess);
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        return txn;
    }

    private static RequestOp Put(ByteString key, ByteString value, long lease) =>
        new() { RequestPut = new PutRequest { Key = key, Value = value, Lease = lease } };

    private static RequestOp Delete(ByteString key) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = key } };

    private static Compare Absent(ByteString key) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Equal,
        CreateRevision = 0,
    };

    private static Compare ModIs(ByteString key, long modRevision) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Mod,
        Result = Compare.Types.CompareResult.Equal,
        ModRevision = modRevision,
    };
}
