using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Etcd.AspNetCore.Session.Storage;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Etcd.AspNetCore.Session.Tests.NearCache;
using Grpc.Core;

namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>
/// Drives one randomized run: two <see cref="HistoryApp"/> instances over a 3-member cluster, browsers whose tabs
/// share a cookie jar sending random operations to either instance, faults on a schedule, and the record of it all
/// as a <see cref="History"/> with what etcd holds at the end. The seed fixes every choice (browsers, tabs,
/// operations, instances, pauses, faults); timing differs between two runs of one seed, and with it what the
/// requests find (which cookie a tab sends, which older cookie a replay picks).
/// </summary>
internal sealed class HistoryRun
{
    private static readonly string[] Keys = ["x", "y", "z"];
    private static readonly ItemWrite[] NoWrites = [];

    private readonly int _seed;
    private readonly TimeSpan _traffic;
    private readonly TimeSpan _maxStaleness;
    private readonly Stopwatch _clock = new();
    private readonly ConcurrentBag<Sent> _sent = [];
    private readonly ConcurrentDictionary<int, ServerNote> _notes = new();
    private readonly ConcurrentQueue<string> _faults = new();
    private readonly EtcdCallInterceptor[] _calls = [new(), new()];
    private readonly TwoInstanceNearCacheTests.DelayingWatchInterceptor[] _watches = [new(), new()];
    private readonly HistoryApp?[] _apps = new HistoryApp?[2];
    private readonly int[] _ports = [EtcdMember.FreePort(), EtcdMember.FreePort()];
    private readonly string _prefix = EtcdFixture.UniquePrefix(nameof(HistoryRun));
    private readonly Microsoft.AspNetCore.DataProtection.IDataProtectionProvider _keyRing = NearCacheApp.NewKeyRing();
    private readonly ConcurrentDictionary<int, int> _refusedInARow = new();
    private readonly ConcurrentDictionary<int, List<string>> _cookiesSeen = new();
    private int _nextOperation;
    private HttpClient? _replays;
    private int _cookiesCleared;

    public HistoryRun(int seed, TimeSpan traffic, TimeSpan maxStaleness)
    {
        _seed = seed;
        _traffic = traffic;
        _maxStaleness = maxStaleness;
    }

    /// <summary>The faults injected, with when (seconds since the run began).</summary>
    public IEnumerable<string> Faults => _faults;

    /// <summary>How often a browser dropped its session cookie after <see cref="RefusalsBeforeClearing"/> refused writes in a row.</summary>
    public int CookiesCleared => _cookiesCleared;

    /// <summary>
    /// A browser whose jar ends up with a rotated-away key (a response older than the rotation's arrived after it) has
    /// its writes refused until it gets a new cookie. Past this many refusals in a row it drops the cookie, as a user
    /// would after errors, so the run goes on exercising live sessions; the figures show how long browsers stayed stuck.
    /// </summary>
    public const int RefusalsBeforeClearing = 3;

    public async Task<History> RunAsync()
    {
        var random = new Random(_seed);
        var tabsPerBrowser = new Dictionary<int, int>();
        var browsers = random.Next(4, 7);
        for (var b = 0; b < browsers; b++)
        {
            tabsPerBrowser[b] = b < 2 ? 1 : random.Next(2, 4); // two lone tabs for read-your-writes, the others 2-3 tabs
        }

        await using var cluster = await EtcdCluster.StartAsync();
        var jars = tabsPerBrowser.Keys.ToDictionary(b => b, _ => new CookieContainer());
        var clients = new List<HttpClient>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                _apps[i] = await StartAppAsync(i, cluster);
            }

            _clock.Start();
            var tabs = tabsPerBrowser.SelectMany(b => Enumerable.Range(0, b.Value).Select(t =>
            {
                var client = new HttpClient(new SocketsHttpHandler { CookieContainer = jars[b.Key], AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
                clients.Add(client);
                return TabAsync(b.Key, t, client, jars[b.Key], new Random(unchecked((_seed * 1_000_003) + (b.Key * 101) + t + 1)));
            })).ToList();
            var replays = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
            clients.Add(replays);
            _replays = replays;
            var faults = FaultsAsync(new Random(unchecked(_seed * 1_000_003)), cluster);
            await Task.WhenAll(tabs.Append(faults));

            // Notes of the last requests land when their responses complete; commits after the body have ended by then.
            await Task.Delay(TimeSpan.FromSeconds(1));
            var final = await FinalSessionsAsync(cluster);
            return new History(Operations(), tabsPerBrowser, final);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }

            foreach (var app in _apps)
            {
                if (app is not null)
                {
                    await app.DisposeAsync();
                }
            }
        }
    }

    private double Now => _clock.Elapsed.TotalSeconds;

    private Task<HistoryApp> StartAppAsync(int instance, EtcdCluster cluster) =>
        HistoryApp.StartAsync(_ports[instance], cluster.Endpoints, _prefix, _keyRing, _maxStaleness, _calls[instance], _watches[instance], _notes);

    private async Task TabAsync(int browser, int tab, HttpClient client, CookieContainer jar, Random random)
    {
        for (var n = 0; _clock.Elapsed < _traffic; n += 2)
        {
            var instance = random.Next(2);
            var (key, other) = (Keys[random.Next(Keys.Length)], Keys[random.Next(Keys.Length)]);
            other = other == key ? Keys[(Array.IndexOf(Keys, key) + 1) % Keys.Length] : other;
            var (value, second) = ($"b{browser}t{tab}n{n}", $"b{browser}t{tab}n{n + 1}");
            var roll = random.Next(100);
            var (kind, path, writes) = roll switch
            {
                < 25 => (OperationKind.Set, $"/set?k={key}&v={value}", new[] { new ItemWrite(key, value) }),
                < 35 => (OperationKind.SetTwice, $"/set-twice?k={key}&v={value}&k2={other}&v2={second}", new[] { new ItemWrite(key, value), new ItemWrite(other, second) }),
                < 43 => (OperationKind.SetAfterBody, $"/set-after-body?k={key}&v={value}", new[] { new ItemWrite(key, value) }),
                < 50 => (OperationKind.Remove, $"/remove?k={key}", new[] { new ItemWrite(key, null) }),
                < 79 => (OperationKind.Read, "/read", NoWrites),
                < 84 => (OperationKind.ReadOldCookie, "/read", NoWrites),
                < 89 => (OperationKind.Rotate, "/rotate", NoWrites),
                < 92 => (OperationKind.Destroy, "/destroy", NoWrites),
                < 97 => (OperationKind.SignIn, $"/sign-in?user=u{browser}", NoWrites),
                _ => (OperationKind.SignOut, "/sign-out", NoWrites),
            };
            var pick = random.Next(int.MaxValue);
            var seen = _cookiesSeen.GetOrAdd(browser, _ => []);
            string? replay;
            lock (seen)
            {
                replay = kind == OperationKind.ReadOldCookie && seen.Count > 0 ? seen[pick % seen.Count] : null;
            }

            kind = kind == OperationKind.ReadOldCookie && replay is null ? OperationKind.Read : kind;
            await SendAsync(replay is null ? client : _replays!, jar, new Sent(Interlocked.Increment(ref _nextOperation), browser, tab, instance, kind, writes), path, replay);
            await Task.Delay(random.Next(0, 30));
        }
    }

    /// <param name="replay">A cookie the browser held earlier, sent instead of the jar's (whose client keeps no cookies).</param>
    private async Task SendAsync(HttpClient client, CookieContainer jar, Sent op, string path, string? replay)
    {
        var url = _apps[op.Instance]?.Url ?? $"http://127.0.0.1:{_ports[op.Instance]}";
        op.CookieBefore = replay ?? SessionCookie(jar, url);
        op.Start = Now;
        try
        {
            using var request = new HttpRequestMessage(op.Kind is OperationKind.Read or OperationKind.ReadOldCookie ? HttpMethod.Get : HttpMethod.Post, url + path);
            request.Headers.Add("X-Op", op.Id.ToString(CultureInfo.InvariantCulture));
            if (replay is not null)
            {
                request.Headers.Add("Cookie", $"{EtcdSessionDefaults.CookieName}={replay}");
            }

            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync(); // a commit after the body that fails breaks the body off
            op.Status = (int)response.StatusCode;
            if (op.Kind is OperationKind.Read or OperationKind.ReadOldCookie && response.IsSuccessStatusCode)
            {
                op.Items = JsonSerializer.Deserialize<Dictionary<string, string>>(body);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or JsonException)
        {
            op.Status = 0;
        }

        op.End = Now;
        op.CookieAfter = replay is null ? SessionCookie(jar, url) : null;
        _sent.Add(op);
        if (op.CookieAfter is { } after)
        {
            var seen = _cookiesSeen.GetOrAdd(op.Browser, _ => []);
            lock (seen)
            {
                if (seen.Count == 0 || seen[^1] != after)
                {
                    seen.Add(after);
                }
            }
        }

        if (op.Writes.Length > 0 || op.Kind == OperationKind.SignIn)
        {
            var refused = op.Status is 409 or 500 ? _refusedInARow.AddOrUpdate(op.Browser, 1, (_, n) => n + 1) : (_refusedInARow[op.Browser] = 0);
            if (refused >= RefusalsBeforeClearing && jar.GetCookies(new Uri(url))[EtcdSessionDefaults.CookieName] is { } cookie)
            {
                cookie.Expired = true;
                _refusedInARow[op.Browser] = 0;
                Interlocked.Increment(ref _cookiesCleared);
            }
        }
    }

    /// <summary>The schedule: an instance restarted, a watch held back, replies dropped, a member frozen then killed.</summary>
    private async Task FaultsAsync(Random random, EtcdCluster cluster)
    {
        var traffic = _traffic.TotalSeconds;
        await UntilAsync(0.15 * traffic);
        var restarted = random.Next(2);
        Fault($"instance {restarted} stopped");
        var stopping = _apps[restarted]!;
        _apps[restarted] = null;
        await stopping.DisposeAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(random.Next(300, 1000)));
        _apps[restarted] = await StartAppAsync(restarted, cluster);
        Fault($"instance {restarted} started again");

        await UntilAsync(0.3 * traffic);
        var held = random.Next(2);
        Fault($"instance {held}'s watch held back 300 ms a message");
        _watches[held].Delay = TimeSpan.FromMilliseconds(300);
        await Task.Delay(TimeSpan.FromSeconds(3));
        _watches[held].Delay = TimeSpan.Zero;
        Fault($"instance {held}'s watch released");

        await UntilAsync(0.45 * traffic);
        for (var i = 0; i < 3; i++)
        {
            var dropped = random.Next(2);
            _calls[dropped].DropNextReply("Txn");
            Fault($"instance {dropped}: next Txn reply dropped");
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(500, 1500)));
        }

        await UntilAsync(0.6 * traffic);
        var member = cluster.Members[random.Next(cluster.Members.Count)];
        member.Freeze();
        Fault($"member {member.Name} frozen");
        await Task.Delay(TimeSpan.FromSeconds(3));
        await member.KillAsync();
        Fault($"member {member.Name} killed");
    }

    private async Task UntilAsync(double seconds)
    {
        var wait = seconds - Now;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait));
        }
    }

    private void Fault(string what) => _faults.Enqueue($"{Now:0.0} s {what}");

    /// <summary>Every session etcd holds, by public id, read straight from the surviving members and decoded with the store's codec.</summary>
    private async Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> FinalSessionsAsync(EtcdCluster cluster)
    {
        var endpoints = string.Join(',', cluster.Members.Where(m => m.IsRunning).Select(m => m.ClientUrl));
        using var client = EtcdTestClient.Create(endpoints);
        var range = await client.GetRangeAsync(SessionKeys.SessionsPrefix(_prefix), deadline: DateTime.UtcNow.AddSeconds(10));
        var codec = (_apps[0] ?? _apps[1])!.Codec;
        var sessions = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var kv in range.Kvs)
        {
            var (stored, items) = codec.Decode(kv);
            sessions[stored.Header.Id] = items.ToDictionary(i => i.Key, i => Encoding.UTF8.GetString(i.Value), StringComparer.Ordinal);
        }

        return sessions;
    }

    private List<Operation> Operations() => [.. _sent.OrderBy(s => s.Id).Select(s =>
    {
        var note = _notes.GetValueOrDefault(s.Id);
        return new Operation
        {
            Id = s.Id,
            Browser = s.Browser,
            Tab = s.Tab,
            Instance = s.Instance,
            Kind = s.Kind,
            Start = s.Start,
            End = s.End,
            Status = s.Status,
            Writes = s.Writes,
            SessionId = note?.SessionId,
            CommittedSessionId = note?.CommittedSessionId,
            OpenedKey = note?.OpenedKey,
            Items = s.Items,
            CookieBefore = s.CookieBefore,
            CookieAfter = s.CookieAfter,
            ServerError = note?.Error,
        };
    })];

    private static string? SessionCookie(CookieContainer jar, string url) => jar.GetCookies(new Uri(url))[EtcdSessionDefaults.CookieName]?.Value;

    /// <summary>A request as the client saw it, before the server's notes are joined in.</summary>
    private sealed class Sent(int id, int browser, int tab, int instance, OperationKind kind, ItemWrite[] writes)
    {
        public int Id { get; } = id;

        public int Browser { get; } = browser;

        public int Tab { get; } = tab;

        public int Instance { get; } = instance;

        public OperationKind Kind { get; } = kind;

        public ItemWrite[] Writes { get; } = writes;

        public double Start { get; set; }

        public double End { get; set; }

        public int Status { get; set; }

        public Dictionary<string, string>? Items { get; set; }

        public string? CookieBefore { get; set; }

        public string? CookieAfter { get; set; }
    }
}
