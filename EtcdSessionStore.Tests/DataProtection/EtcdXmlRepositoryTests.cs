using System.Xml.Linq;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.DataProtection;

public sealed class EtcdXmlRepositoryTests
{
    [Test]
    public async Task StoredKeyXml_IsReadBackByAnotherInstance_UnderTheDataProtectionFolderOfTheKeyPrefix()
    {
        using var writer = TestStore.Create(services: s => s.AddDataProtection().PersistKeysToEtcd());
        using var reader = TestStore.Create(services: s => s.AddDataProtection().PersistKeysToEtcd());
        var element = new XElement("key", new XAttribute("id", "k1"), new XElement("secret", "abc"));

        await Repository(writer).LoadAsync(CancellationToken.None);
        await Repository(reader).LoadAsync(CancellationToken.None);
        Repository(writer).StoreElement(element, "key-k1");
        var readHere = Repository(writer).GetAllElements();
        await Repository(reader).LoadAsync(CancellationToken.None);
        var readElsewhere = Repository(reader).GetAllElements();

        Assert.Multiple(async () =>
        {
            Assert.That(readHere.Select(e => e.ToString()), Is.EqualTo(new[] { element.ToString() }));
            Assert.That(readElsewhere, Is.Empty, "another key prefix is another key ring");
            Assert.That((await EtcdFixture.Client.GetAsync(writer.Prefix + "dataprotection/key-k1")).Count, Is.EqualTo(1));
        });
        await Task.CompletedTask;
    }

    [Test]
    public void PersistKeysToEtcd_WithoutAddEtcdSession_SaysWhatIsMissing()
    {
        var services = new ServiceCollection();
        services.AddDataProtection().PersistKeysToEtcd();
        using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<IOptions<KeyManagementOptions>>().Value,
            Throws.InvalidOperationException.With.Message.Contains("AddEtcdSession"));
    }

    [Test]
    public void BeforeTheKeyRingWasEverRead_ASynchronousRead_FailsAtOnce_InsteadOfWaitingOnEtcdOrAnsweringNoKeys()
    {
        using var store = TestStore.Create(o => o.Endpoints = "http://127.0.0.1:1", services: s => s.AddDataProtection().PersistKeysToEtcd());

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ex = Assert.Throws<EtcdSessionException>(() => Repository(store).GetAllElements());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(EtcdSessionErrorKind.Unavailable));
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(500)), "no request thread waits on etcd");
        });
    }

    private static global::Etcd.AspNetCore.Session.DataProtection.EtcdXmlRepository Repository(TestStore store) =>
        (global::Etcd.AspNetCore.Session.DataProtection.EtcdXmlRepository)store.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository!;
}
