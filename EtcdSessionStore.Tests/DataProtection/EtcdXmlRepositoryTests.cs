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

        Repository(writer).StoreElement(element, "key-k1");
        var readHere = Repository(writer).GetAllElements();
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

    private static Microsoft.AspNetCore.DataProtection.Repositories.IXmlRepository Repository(TestStore store) =>
        store.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository!;
}
