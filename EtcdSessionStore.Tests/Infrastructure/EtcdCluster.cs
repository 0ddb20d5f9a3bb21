using Etcdserverpb;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>A 3-member etcd cluster on loopback for failover tests. Each test that needs one starts its own.</summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private EtcdCluster(IReadOnlyList<EtcdMember> members)
    {
        Members = members;
    }

    public IReadOnlyList<EtcdMember> Members { get; }

    public string Endpoints => string.Join(',', Members.Select(m => m.ClientUrl));

    /// <param name="size">How many members.</param>
    /// <param name="fsync">Members write to disk as production etcd does (for tests that claim durability).</param>
    public static async Task<EtcdCluster> StartAsync(int size = 3, bool fsync = false)
    {
        // A port found free can be taken by another test before etcd binds it: start again on other ports.
        for (var attempt = 1; ; attempt++)
        {
            var token = $"cluster-{Guid.NewGuid():N}";
            var ports = Enumerable.Range(0, size).Select(_ => (Client: EtcdMember.FreePort(), Peer: EtcdMember.FreePort())).ToArray();
            var initial = string.Join(',', ports.Select((p, i) => $"m{i}=http://127.0.0.1:{p.Peer}"));
            var members = ports.Select((p, i) => EtcdMember.Define($"m{i}", p.Client, p.Peer, initial, token, fsync: fsync)).ToArray();
            try
            {
                // Members wait for a quorum before they report healthy: start all, then wait.
                await Task.WhenAll(members.Select(m => m.StartAsync(waitUntilReady: false)));
                await Task.WhenAll(members.Select(m => m.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30))));
                return new EtcdCluster(members);
            }
            catch (Exception) when (attempt < 3 && members.Any(m => m.LastErrors.Any(e => e.Contains("address already in use", StringComparison.Ordinal))))
            {
                foreach (var member in members)
                {
                    await member.DisposeAsync();
                }
            }
        }
    }

    /// <summary>The member that is the raft leader now.</summary>
    public async Task<EtcdMember> LeaderAsync()
    {
        foreach (var member in Members.Where(m => m.IsRunning))
        {
            using var client = EtcdTestClient.Create(member.ClientUrl);
            var status = await client.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            if (status.Leader == status.Header.MemberId)
            {
                return member;
            }
        }

        throw new InvalidOperationException("No running member reports itself as leader.");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            await member.DisposeAsync();
        }
    }
}
