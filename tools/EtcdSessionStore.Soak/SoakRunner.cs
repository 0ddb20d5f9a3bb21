using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Etcd.AspNetCore.Session.Soak;

/// <summary>
/// Virtual users, each with its own cookie jar: log in, add items, check the cart holds exactly what this
/// user added, sometimes log out. A wrong cart counts as an error, as does any non-2xx answer.
/// </summary>
internal sealed class SoakRunner
{
    private readonly Uri _app;
    private readonly SoakOptions _options;
    private long _requests;
    private long _errors;
    private readonly List<string> _errorSamples = [];

    private readonly int _appProcessId;

    public SoakRunner(Uri app, SoakOptions options, int appProcessId)
    {
        _app = app;
        _options = options;
        _appProcessId = appProcessId;
    }

    public async Task<SoakReport> RunAsync()
    {
        await WaitForHealthAsync();
        using var stats = new HttpClient { BaseAddress = _app };
        await RunUsersAsync(TimeSpan.FromSeconds(5), null); // warm-up, not counted
        Interlocked.Exchange(ref _requests, 0);
        Interlocked.Exchange(ref _errors, 0);
        var startMemory = await MemoryAsync(stats);
        var intervals = new List<string>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(_options.Duration);
        var users = RunUsersAsync(_options.Duration, stop.Token);
        long last = 0;
        var lastTime = TimeSpan.Zero;
        while (!users.IsCompleted)
        {
            await Task.WhenAny(users, Task.Delay(_options.ReportEvery));
            if (users.IsCompleted && clock.Elapsed - lastTime < _options.ReportEvery / 2)
            {
                break; // a last sliver of an interval says nothing
            }

            var now = Interlocked.Read(ref _requests);
            var memory = await MemoryAsync(stats);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{clock.Elapsed.TotalSeconds,6:0} s  {(now - last) / Math.Max(0.001, (clock.Elapsed - lastTime).TotalSeconds),7:0} req/s  errors {Interlocked.Read(ref _errors)}  heap {memory.HeapText}  working set {memory.WorkingSetBytes / 1048576.0:0.0} MiB");
            Console.WriteLine(line);
            intervals.Add(line);
            last = now;
            lastTime = clock.Elapsed;
        }

        await users;
        var endMemory = await MemoryAsync(stats);
        return new SoakReport(_options, clock.Elapsed, Interlocked.Read(ref _requests), Interlocked.Read(ref _errors), startMemory, endMemory, intervals, _errorSamples);
    }

    /// <summary>The built-in app reports its GC heap after a full GC; for another app (the demo) only its resident set is known.</summary>
    private async Task<Memory> MemoryAsync(HttpClient stats)
    {
        if (_options.App is null)
        {
            return (await stats.GetFromJsonAsync<Memory>("/stats"))!;
        }

        var rss = File.ReadLines($"/proc/{_appProcessId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kib = long.Parse(rss["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return new Memory(-1, kib * 1024);
    }

    private async Task WaitForHealthAsync()
    {
        using var http = new HttpClient { BaseAddress = _app, Timeout = TimeSpan.FromSeconds(1) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                await http.GetStringAsync("/health");
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(200);
            }
        }

        throw new InvalidOperationException("The soak app did not become healthy.");
    }

    private async Task RunUsersAsync(TimeSpan duration, CancellationToken? stop)
    {
        using var warmUp = stop is null ? new CancellationTokenSource(duration) : null;
        var token = stop ?? warmUp!.Token;
        await Task.WhenAll(Enumerable.Range(0, _options.Users).Select(u => Task.Run(() => UserAsync(u, token))));
    }

    private async Task UserAsync(int user, CancellationToken stop)
    {
        var random = new Random(user);
        while (!stop.IsCancellationRequested)
        {
            using var handler = new SocketsHttpHandler { CookieContainer = new CookieContainer(), UseCookies = true };
            using var http = new HttpClient(handler) { BaseAddress = _app, Timeout = TimeSpan.FromSeconds(30) };
            var expected = new List<string>();
            await SendAsync(http, HttpMethod.Post, "/login", new() { ["user"] = $"user{user}" });
            for (var round = 0; round < 20 && !stop.IsCancellationRequested; round++)
            {
                if (random.Next(3) == 0)
                {
                    var item = $"item-{user}-{round}";
                    if (await SendAsync(http, HttpMethod.Post, "/cart", new() { ["item"] = item }))
                    {
                        expected.Add(item);
                    }
                }
                else
                {
                    await CheckCartAsync(http, expected);
                }
            }

            await SendAsync(http, HttpMethod.Post, "/logout", null);
        }
    }

    private async Task CheckCartAsync(HttpClient http, List<string> expected)
    {
        try
        {
            var cart = await http.GetFromJsonAsync<string[]>("/cart");
            Interlocked.Increment(ref _requests);
            if (cart is null || !cart.SequenceEqual(expected))
            {
                Fail($"GET /cart: expected [{string.Join(',', expected)}], got [{string.Join(',', cart ?? [])}]");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref _requests);
            Fail("GET /cart: " + ex.Message);
        }
    }

    private async Task<bool> SendAsync(HttpClient http, HttpMethod method, string path, Dictionary<string, string>? form)
    {
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = form is null ? null : new FormUrlEncodedContent(form) };
            using var response = await http.SendAsync(request);
            Interlocked.Increment(ref _requests);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }

            Fail($"{method} {path}: {(int)response.StatusCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref _requests);
            Fail($"{method} {path}: {ex.Message}");
        }

        return false;
    }

    private void Fail(string what)
    {
        Interlocked.Increment(ref _errors);
        lock (_errorSamples)
        {
            if (_errorSamples.Count < 10)
            {
                _errorSamples.Add(what);
            }
        }
    }
}

internal sealed record Memory(long HeapBytes, long WorkingSetBytes)
{
    public string HeapText => HeapBytes < 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{HeapBytes / 1048576.0:0.0} MiB");
}

internal sealed record SoakReport(SoakOptions Options, TimeSpan Elapsed, long Requests, long Errors, Memory Start, Memory End,
    IReadOnlyList<string> Intervals, IReadOnlyList<string> ErrorSamples)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Soak: {Options.Users} users for {Elapsed.TotalSeconds:0} s: {Requests} requests ({Requests / Elapsed.TotalSeconds:0} req/s), {Errors} errors.");
        text.AppendLine(CultureInfo.InvariantCulture, $"App memory: GC heap {Start.HeapText} -> {End.HeapText}, working set {Start.WorkingSetBytes / 1048576.0:0.0} -> {End.WorkingSetBytes / 1048576.0:0.0} MiB.");
        foreach (var sample in ErrorSamples)
        {
            text.AppendLine("  error: " + sample);
        }

        return text.ToString();
    }
}
