using Microsoft.Playwright;

namespace Etcd.AspNetCore.Session.Tests.Browser;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright's bundled driver (a Node.js program shipped in the NuGet package:
/// nothing is downloaded). Playwright gives every launch a fresh temporary profile (user data dir) and deletes it after.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    /// <summary>Where Debian's <c>chromium</c> package installs the browser.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>Set (to anything) by the build's Test task after it made sure Chromium is installed: then a browser that does not start fails the tests instead of skipping them.</summary>
    public const string RequiredVariable = "ETCD_SESSION_TESTS_REQUIRE_CHROMIUM";

    // Headless on a machine without network, as root: no sandbox (it needs user namespaces), no GPU, and none of
    // the background traffic (QUIC, sync, component updates) that only produces refused connections.
    private static readonly string[] Args =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Starts the browser, or ignores the calling test (fixture) with the reason when Chromium cannot run here.</summary>
    public static async Task<Chromium> LaunchOrIgnoreAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            Unavailable($"{ExecutablePath} does not exist (Debian/Ubuntu: apt-get install -y chromium; the build's EnsureChromium task does it as root).");
        }

        // The driver failing to start is a broken test setup, not a missing browser: let it fail.
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Args,
                Timeout = 30_000,
            });
            return new Chromium(playwright, browser);
        }
        catch (PlaywrightException ex)
        {
            playwright.Dispose();
            Unavailable($"{ExecutablePath} did not start: {ex.Message}");
            throw; // not reached
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.CloseAsync();
        _playwright.Dispose();
    }

    private static void Unavailable(string reason)
    {
        var message = "Chromium cannot run, so the browser tests cannot: " + reason;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RequiredVariable)))
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
    }
}
