using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.Packaging;

/// <summary>
/// The package as a user gets it: the library packed into a local folder feed, and samples/PackageConsumer (an
/// app that references only the package) restored, built and run against the shared etcd. The restore goes to a
/// packages folder of this run alone, so a same-version package never lands in, or comes from, the machine's
/// NuGet cache; a unique pre-release version makes sure of it.
/// </summary>
public sealed class PackageConsumerTests
{
    [Test]
    public async Task ConsumerApp_ThatReferencesOnlyThePackage_KeepsItsSessionInEtcd()
    {
        var work = Directory.CreateTempSubdirectory("etcd-session-package-");
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            var suffix = $"packagetest.t{Guid.NewGuid():N}"[..26];
            var version = await DotNetCli.PackLibraryAsync(feed, suffix);

            var app = CopyConsumerTemplate(Path.Combine(work.FullName, "app"));
            var packagesFolder = Path.Combine(work.FullName, "packages");
            WriteNuGetConfig(app, feed, packagesFolder);
            var prefix = EtcdFixture.UniquePrefix("package-consumer");

            var run = await DotNetCli.RunAsync(app,
                "run", "--project", Path.Combine(app, "PackageConsumer.csproj"), "-c", "Release",
                $"-p:EtcdSessionStoreVersion={version}", "-p:UseSharedCompilation=false", "--",
                "--self-check", $"--EtcdSession:Endpoints={EtcdFixture.Endpoints}", $"--EtcdSession:KeyPrefix={prefix}");

            var stored = await EtcdFixture.Client.GetRangeAsync(prefix);
            Assert.Multiple(() =>
            {
                Assert.That(run.ExitCode, Is.Zero, run.Output);
                Assert.That(run.Output, Does.Contain("visits: 1 then 2"));
                Assert.That(Path.Combine(packagesFolder, "etcdsessionstore", version.ToLowerInvariant()), Does.Exist,
                    "the package was restored from the local feed into this run's packages folder");
                Assert.That(stored.Count, Is.GreaterThan(0), "the consumer's session is in etcd under its key prefix");
            });
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The app's files (not its bin/obj) copied to <paramref name="target"/>, away from the repository's build files.</summary>
    private static string CopyConsumerTemplate(string target)
    {
        var source = RepositoryPaths.Of("samples", "PackageConsumer");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }

    /// <summary>
    /// The local feed first; this run's own packages folder; the machine's NuGet cache only as a read-only fallback
    /// for the library's dependencies, so restoring them needs no download.
    /// </summary>
    private static void WriteNuGetConfig(string app, string feed, string packagesFolder)
    {
        var machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{packagesFolder}" />
              </config>
              <fallbackPackageFolders>
                <add key="machine" value="{machineCache}" />
              </fallbackPackageFolders>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
    }
}
