using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Session;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// Writes sessions straight into etcd in the store's stored format (<see cref="StoredSessionFormat"/>), many per
/// transaction and several transactions at once: a million sessions written one commit at a time through the
/// store would take most of the run. Each session is what the benchmark's own fill through the store made
/// (user, count and a 200-character profile: about 300 bytes), with its idle deadline at write time plus the
/// idle timeout. Like the store, it puts at most 256 keys on one expiry lease (on etcd 3.4.23 a put onto a lease
/// costs time that grows with the keys already on it), numbering the slots of each expiry second; when one
/// second's 64 slots are full it moves to the next second, so a deadline is never earlier than the store's would be.
/// </summary>
internal sealed class BulkSessionFill(EtcdClient client, string keyPrefix, TimeSpan idle, int concurrency)
{
    public const int PutsPerTxn = 128; // etcd's default --max-txn-ops
    public const int KeysPerLease = 256; // the store's own cap (ExpiryLeasePool.KeysPerLease)
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);
    private static readonly byte[] Profile = Encoding.UTF8.GetBytes(new string('p', 200));
    private static readonly byte[] CountZero = [0, 0, 0, 0]; // SetInt32(0): four bytes, big-endian

    private readonly ConcurrentDictionary<long, Lazy<Task>> _grants = new();
    private readonly Lock _gate = new();
    private long _second;
    private int _slot;
    private int _batchesOnLease;

    /// <summary>Writes the sessions numbered <c>secrets.Count</c> to <paramref name="total"/> - 1.</summary>
    public async Task FillAsync(SessionSecrets secrets, int total)
    {
        var first = secrets.Count;
        var batches = (Math.Max(0, total - first) + PutsPerTxn - 1) / PutsPerTxn;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var batch = Interlocked.Increment(ref next); batch < batches; batch = Interlocked.Increment(ref next))
            {
                var start = first + batch * PutsPerTxn;
                var lease = NextLease();
                await _grants.GetOrAdd(lease, id => new Lazy<Task>(() => GrantAsync(id))).Value;
                var txn = new TxnRequest();
                var now = DateTimeOffset.UtcNow;
                for (var i = start; i < Math.Min(total, start + PutsPerTxn); i++)
                {
                    txn.Success.Add(new RequestOp
                    {
                        RequestPut = new PutRequest
                        {
                            Key = ByteString.CopyFromUtf8(StoredSessionFormat.StorageKey(keyPrefix, secrets.Of(i))),
                            Value = ByteString.CopyFrom(StoredSessionFormat.Envelope(now, idle, ItemsOf(i))),
                            Lease = lease,
                        },
                    });
                }

                await client.TransactionAsync(txn, deadline: DateTime.UtcNow + CallDeadline);
            }
        })));
        secrets.Count = Math.Max(first, total);
    }

    /// <summary>Loads the first bulk-written session through the store and checks its values, so a format drift fails the run.</summary>
    public static async Task VerifyAsync(ISessionStore store, SessionSecrets secrets, TimeSpan idle)
    {
        var session = store.Create(secrets.Of(0), idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: false);
        await session.LoadAsync();
        var user = session.GetString(BenchServer.UserKey);
        if (user != "user-0" || session.GetInt32(BenchServer.CountKey) != 0 || session.GetString(BenchServer.ProfileKey)?.Length != Profile.Length)
        {
            throw new InvalidOperationException($"A session written in bulk did not load through the store (user '{user}'): " +
                "has the stored format changed? Update StoredSessionFormat to match docs/storage-format.md.");
        }
    }

    private static KeyValuePair<string, byte[]>[] ItemsOf(int index) =>
    [
        new(BenchServer.UserKey, Encoding.UTF8.GetBytes("user-" + index.ToString(CultureInfo.InvariantCulture))),
        new(BenchServer.CountKey, CountZero),
        new(BenchServer.ProfileKey, Profile),
    ];

    /// <summary>The lease for the next transaction: the current expiry second's slot, 256 keys per slot.</summary>
    private long NextLease()
    {
        lock (_gate)
        {
            var due = StoredSessionFormat.SecondOf(DateTimeOffset.UtcNow + idle);
            if (_second < due)
            {
                (_second, _slot, _batchesOnLease) = (due, 0, 0);
            }
            else if (_batchesOnLease == KeysPerLease / PutsPerTxn)
            {
                _batchesOnLease = 0;
                if (++_slot > StoredSessionFormat.MaxLeaseSlot)
                {
                    (_second, _slot) = (_second + 1, 0);
                }
            }

            _batchesOnLease++;
            return StoredSessionFormat.LeaseId(_second, _slot);
        }
    }

    /// <summary>Grants a lease as the store does: a chosen id, a TTL of whole seconds up to its expiry second plus one.</summary>
    private async Task GrantAsync(long leaseId)
    {
        var second = leaseId & ((1L << 34) - 1);
        var ttl = Math.Max(2, second - DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        try
        {
            await client.LeaseGrantAsync(new LeaseGrantRequest { ID = leaseId, TTL = ttl }, deadline: DateTime.UtcNow + CallDeadline);
        }
        catch (RpcException ex) when (ex.Status.Detail.Contains("lease already exists", StringComparison.Ordinal))
        {
            // granted by the store itself for a commit due in the same second
        }
    }
}
