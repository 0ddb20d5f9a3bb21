using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Etcd.AspNetCore.Session.Tests.Infrastructure;

namespace Etcd.AspNetCore.Session.Tests.Packaging;

/// <summary>What nuget.org shows of the package: its metadata, its README, its files and its symbols.</summary>
public sealed class PackageContentsTests
{
    private static string _feed = "";
    private static string _version = "";

    [OneTimeSetUp]
    public static async Task PackOnce()
    {
        _feed = Directory.CreateTempSubdirectory("etcd-session-contents-").FullName;
        _version = await DotNetCli.PackLibraryAsync(_feed, "contentstest");
    }

    [OneTimeTearDown]
    public static void DeleteFeed() => Directory.Delete(_feed, recursive: true);

    [Test]
    public void Nuspec_CarriesLicenceReadmeAuthorsTagsAndDescription()
    {
        var metadata = Nuspec().Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        var license = metadata.Elements().Single(e => e.Name.LocalName == "license");

        Assert.Multiple(() =>
        {
            Assert.That(Value("id"), Is.EqualTo("EtcdSessionStore"));
            Assert.That(Value("version"), Does.StartWith(VersionPrefix() + "-"));
            Assert.That(license.Attribute("type")?.Value, Is.EqualTo("expression"));
            Assert.That(license.Value, Is.EqualTo("MIT"));
            Assert.That(Value("readme"), Is.EqualTo("PACKAGE.md"));
            Assert.That(Value("authors"), Is.Not.Empty);
            Assert.That(Value("description"), Does.Contain("etcd"));
            Assert.That(Value("tags")!.Split(' '), Does.Contain("etcd").And.Contain("session").And.Contain("aspnetcore"));
        });
    }

    [Test]
    public void Package_HoldsTheAssembly_ItsXmlDocs_AndTheReadme()
    {
        using var package = ZipFile.OpenRead(Path.Combine(_feed, $"EtcdSessionStore.{_version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToList();

        Assert.That(entries, Is.SupersetOf(new[] { "lib/net10.0/EtcdSessionStore.dll", "lib/net10.0/EtcdSessionStore.xml", "PACKAGE.md" }));
    }

    [Test]
    public void SymbolsPackage_HoldsThePdb()
    {
        using var symbols = ZipFile.OpenRead(Path.Combine(_feed, $"EtcdSessionStore.{_version}.snupkg"));

        Assert.That(symbols.Entries.Select(e => e.FullName), Does.Contain("lib/net10.0/EtcdSessionStore.pdb"));
    }

    [Test]
    public void PackageReadme_HasNoRelativeLinks_BecauseTheyBreakOnThePackagePage()
    {
        var readme = File.ReadAllText(RepositoryPaths.Of("EtcdSessionStore", "PACKAGE.md"));
        var targets = Regex.Matches(readme, @"\]\((?<target>[^)\s]+)\)|src=""(?<target>[^""]+)""").Select(m => m.Groups["target"].Value);

        Assert.That(targets.Where(t => !t.StartsWith("https://", StringComparison.Ordinal)), Is.Empty);
    }

    private static XDocument Nuspec()
    {
        using var package = ZipFile.OpenRead(Path.Combine(_feed, $"EtcdSessionStore.{_version}.nupkg"));
        using var nuspec = package.GetEntry("EtcdSessionStore.nuspec")!.Open();
        return XDocument.Load(nuspec);
    }

    /// <summary>The version set once, in Directory.Build.props.</summary>
    private static string VersionPrefix() =>
        XDocument.Load(RepositoryPaths.Of("Directory.Build.props")).Descendants("VersionPrefix").Single().Value;
}
