using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The etcd transactions of the session lifecycle. Each one guards on what the caller last saw and, when
/// the guard fails, reads the key back in the same round trip so the caller can merge and retry.
/// </summary>
internal static class SessionTransactions
{
    /// <summary>Create-if-absent: never overwrites a session another request created.</summary>
    public static TxnRequest Create(string key, ByteString value, long lease)
    {
        var k = ByteString.CopyFromUtf8(key);
        return Guarded(k, [Absent(k)], [Put(k, value, lease)]);
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
