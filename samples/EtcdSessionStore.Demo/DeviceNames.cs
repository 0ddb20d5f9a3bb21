namespace EtcdSessionStore.Demo;

/// <summary>
/// "Chrome on Linux" from a user agent string, as account pages name devices. A rough guess from well-known
/// tokens, for display only; anything else shows its first product token (e.g. <c>curl</c>).
/// </summary>
internal static class DeviceNames
{
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari, Android also says Linux.
    private static readonly (string Token, string Name)[] Browsers =
    [
        ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"),
    ];

    private static readonly (string Token, string Name)[] Systems =
    [
        ("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
        ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
    ];

    public static string Describe(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return "Unknown device";
        }

        var browser = Browsers.FirstOrDefault(b => userAgent.Contains(b.Token, StringComparison.Ordinal)).Name;
        var system = Systems.FirstOrDefault(s => userAgent.Contains(s.Token, StringComparison.Ordinal)).Name;
        return (browser, system) switch
        {
            ({ } b, { } s) => $"{b} on {s}",
            ({ } b, null) => b,
            (null, { } s) => $"A browser on {s}",
            _ => userAgent.Split([' ', '/'], 2)[0],
        };
    }
}
