// What binding sessions to users costs, on a throwaway etcd (fsync on) that it starts and stops itself:
// the commit latency of an anonymous session against one bound to a user (one more put in the same
// transaction), and the time to list and to revoke all sessions of a user. Usage:
//   dotnet run -c Release --project bench/EtcdSessionStore.UserIndex -- [commitsPerRound] [rounds] [sessionsPerUser]
// Prints markdown tables: medians and p99 per round, and the bound/anonymous ratio of medians.
using System.Diagnostics;
using System.Globalization;
using Etcd.AspNetCore.Session;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Session;
using Microsoft.Extensions.DependencyInjection;

var commits = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var perUser = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;

await using var etcd = await EtcdMember.StartSingleAsync("bench", fsync: true);
await using var services = new ServiceCollection()
    .AddEtcdSession(o => o.Endpoints = etcd.ClientUrl)
    .BuildServiceProvider();
var store = services.GetRequiredService<ISessionStore>();
var directory = services.GetRequiredService<EtcdSessionDirectory>();
var idle = TimeSpan.FromMinutes(20);

// Through the public ISessionStore, as the stock middleware calls it. BindUserAsync(user) moves the session to a
// new secret key that only the session itself knows, so each session is kept and committed again, as the requests
// of one browser would.
async Task<ISession> NewSessionAsync(string? user)
{
    var secret = System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    var session = store.Create(secret, idle, TimeSpan.FromSeconds(5), () => true, isNewSessionKey: true);
    session.SetString("cart", "apples");
    if (user is not null)
    {
        await session.BindUserAsync(user, new Dictionary<string, string> { ["ua"] = "bench" });
    }

    await session.CommitAsync();
    return session;
}

var anonymous = await NewSessionAsync(null);
var bound = await NewSessionAsync("bench-user");

// One commit = a changed item written by an update txn, guarded on the revision the previous commit stored.
async Task<double[]> CommitLatenciesAsync(ISession session)
{
    var ms = new double[commits];
    for (var i = 0; i < commits; i++)
    {
        session.SetString("n", i.ToString(CultureInfo.InvariantCulture));
        var started = Stopwatch.GetTimestamp();
        await session.CommitAsync();
        ms[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    return ms;
}

static double Percentile(double[] values, double p)
{
    var sorted = values.Order().ToArray();
    return sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))];
}

Console.WriteLine($"etcd {etcd.Version}, fsync on, {commits} sequential commits per round, {Environment.ProcessorCount} cores");
Console.WriteLine();
Console.WriteLine("| round | anonymous p50 ms | bound p50 ms | bound / anonymous | anonymous p99 ms | bound p99 ms |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
for (var round = 1; round <= rounds; round++)
{
    // Interleaved, so drift on a shared machine hits both alike.
    var a = await CommitLatenciesAsync(anonymous);
    var b = await CommitLatenciesAsync(bound);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {round} | {Percentile(a, 0.5):0.00} | {Percentile(b, 0.5):0.00} | {Percentile(b, 0.5) / Percentile(a, 0.5):0.00} | {Percentile(a, 0.99):0.00} | {Percentile(b, 0.99):0.00} |"));
}

Console.WriteLine();
Console.WriteLine($"| round | list {perUser} sessions ms | revoke all {perUser} sessions ms |");
Console.WriteLine("|---:|---:|---:|");
for (var round = 1; round <= rounds; round++)
{
    var user = $"user-{round}";
    for (var i = 0; i < perUser; i++)
    {
        await NewSessionAsync(user);
    }

    var started = Stopwatch.GetTimestamp();
    var listed = await directory.ListAsync(user);
    var list = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    started = Stopwatch.GetTimestamp();
    var revoked = await directory.RevokeAllAsync(user);
    var revoke = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    if (listed.Count != perUser || revoked != perUser)
    {
        throw new InvalidOperationException($"listed {listed.Count}, revoked {revoked}, expected {perUser}");
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {round} | {list:0.0} | {revoke:0.0} |"));
}
