using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The etcd transactions of the keys that are not sessions (those are <see cref="SessionTransactions"/>): sign-in tickets
/// and their index by user, and the plain exact-key writes of the Data Protection key ring and the near cache's heartbeat.
/// </summary>
internal static class KeyTransactions
{
    /// <summary>
    /// Writes a ticket over the version stored at <paramref name="modRevision"/> (0: only if the key is free), on
    /// <paramref name="lease"/>, with the entry of the user it was stored for deleted (<paramref name="staleEntryKey"/>)
    /// and its own entry put (<paramref name="entry"/>), each when given.
    /// </summary>
    public static TxnRequest ReplaceTicket(string key, ByteString value, long lease, long modRevision, string? staleEntryKey, (string Key, ByteString Value)? entry)
    {
        var k = ByteString.CopyFromUtf8(key);
        var txn = new TxnRequest();
        txn.Compare.Add(modRevision == 0
            ? new Compare { Key = k, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
            : new Compare { Key = k, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = k, Value = value, Lease = lease } });
        if (staleEntryKey is not null)
        {
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(staleEntryKey) } });
        }

        if (entry is { } e)
        {
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(e.Key), Value = e.Value, Lease = lease } });
        }

        return txn;
    }

    /// <summary>
    /// Renews a ticket only if it, and its entry when <paramref name="entryKey"/> is given, still exist: the ticket is
    /// put on <paramref name="lease"/>, and the entry keeps its value and moves to that lease.
    /// </summary>
    public static TxnRequest RenewTicket(string key, ByteString value, long lease, string? entryKey)
    {
        var k = ByteString.CopyFromUtf8(key);
        var txn = new TxnRequest();
        txn.Compare.Add(Exists(k));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = k, Value = value, Lease = lease } });
        if (entryKey is not null)
        {
            var entry = ByteString.CopyFromUtf8(entryKey);
            txn.Compare.Add(Exists(entry));
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = entry, IgnoreValue = true, Lease = lease } });
        }

        return txn;
    }

    /// <summary>Deletes exact keys (never a prefix), together.</summary>
    public static TxnRequest Delete(IEnumerable<string> keys)
    {
        var txn = new TxnRequest();
        foreach (var key in keys)
        {
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } });
        }

        return txn;
    }

    /// <summary>Puts <paramref name="value"/> at <paramref name="key"/>, unguarded and without a lease.</summary>
    public static TxnRequest Put(string key, ByteString value) =>
        new() { Success = { new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = value } } } };

    private static Compare Exists(ByteString key) => new()
    {
        Key = key,
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Greater,
        CreateRevision = 0,
    };
}
