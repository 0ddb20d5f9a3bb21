using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Etcd.AspNetCore.Session.Tests.Browser;

/// <summary>Saves what the browser shows under <c>artifacts/screenshots/</c> and attaches it to the current test's result.</summary>
internal static class Screenshots
{
    public static async Task SaveAsync(IPage page, string step)
    {
        var directory = RepositoryPaths.Of("artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{TestContext.CurrentContext.Test.MethodName}-{step}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.AddTestAttachment(path, $"{step}: {page.Url}");
    }
}
