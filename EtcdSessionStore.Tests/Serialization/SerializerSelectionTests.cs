using System.Text;
using System.Text.Json;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

public sealed class SerializerSelectionTests
{
    private static readonly byte[] Binary = [0, 255, 1];

    [TestCase("json", "JSON")]
    [TestCase("Yaml", "YAML")]
    [TestCase("BINARY", "Binary")]
    public async Task ConfiguredByNameInAnyCase_WritesSessionsThatRecordTheSerializer(string configured, string recorded)
    {
        using var store = TestStore.Create(o => o.Serializer = configured);
        var session = await store.SeedAsync(("cart", "apples"));

        var (header, _) = await StoredAsync(store.StorageKeyOf(session.SessionKey));

        Assert.That(header, Is.EqualTo(recorded));
    }

    [TestCase("JSON", "YAML")]
    [TestCase("JSON", "Binary")]
    [TestCase("YAML", "JSON")]
    [TestCase("YAML", "Binary")]
    [TestCase("Binary", "JSON")]
    [TestCase("Binary", "YAML")]
    public async Task AfterSwitchingSerializer_LiveSessionsAreReadWithTheOldOne_AndRewrittenWithTheNewOneOnTheirNextChange(string before, string after)
    {
        using var oldApp = TestStore.Create(o => o.Serializer = before);
        var session = oldApp.NewSession();
        session.SetString("cart", "apples");
        session.Set("bytes", Binary);
        await session.CommitAsync();
        var key = oldApp.StorageKeyOf(session.SessionKey);
        using var newApp = TestStore.Create(o => { o.Serializer = after; o.KeyPrefix = oldApp.Prefix; });

        var read = await newApp.OpenAsync(session.SessionKey);
        _ = read.GetString("cart");
        await read.CommitAsync();
        var (afterReadOnly, _) = await StoredAsync(key);

        var changed = await newApp.OpenAsync(session.SessionKey);
        changed.SetString("visits", "2");
        await changed.CommitAsync();
        var (afterChange, _) = await StoredAsync(key);
        var reread = await newApp.OpenAsync(session.SessionKey);

        Assert.Multiple(() =>
        {
            Assert.That(read.SessionKey, Is.EqualTo(session.SessionKey));
            Assert.That(read.GetString("cart"), Is.EqualTo("apples"));
            Assert.That(read.Get("bytes"), Is.EqualTo(Binary));
            Assert.That(afterReadOnly, Is.EqualTo(before), "a read-only request leaves the stored value alone");
            Assert.That(afterChange, Is.EqualTo(after));
            Assert.That(reread.GetString("cart"), Is.EqualTo("apples"));
            Assert.That(reread.Get("bytes"), Is.EqualTo(Binary));
            Assert.That(reread.GetString("visits"), Is.EqualTo("2"));
        });
    }

    [TestCase("JSON")]
    [TestCase("YAML")]
    public async Task TextSerializers_StoreTextAsTextAndOtherBytesAsBase64_ForEtcdctl(string serializer)
    {
        using var store = TestStore.Create(o => o.Serializer = serializer);
        var session = store.NewSession();
        session.SetString("greeting", "grüße, world: \"quoted\"");
        session.Set("bytes", Binary);
        await session.CommitAsync();

        var (_, payload) = await StoredAsync(store.StorageKeyOf(session.SessionKey));

        Assert.Multiple(() =>
        {
            Assert.That(payload, Does.Contain("greeting"));
            Assert.That(payload, Does.Contain("grüße, world:"));
            Assert.That(payload, Does.Contain(Convert.ToBase64String(Binary)));
        });
    }

    [Test]
    public async Task JsonWithIndentFromConfiguration_PutsEachItemOnItsOwnLine()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EtcdSession:Serializer"] = "JSON",
            ["EtcdSession:SerializeOptions:Indent"] = "true",
        }).Build();
        using var store = TestStore.Create(o => configuration.GetSection("EtcdSession").Bind(o));
        var session = await store.SeedAsync(("a", "1"), ("b", "2"));

        var (_, payload) = await StoredAsync(store.StorageKeyOf(session.SessionKey));

        Assert.That(payload, Is.EqualTo("{\n  \"a\": \"1\",\n  \"b\": \"2\"\n}").Or.EqualTo("{\r\n  \"a\": \"1\",\r\n  \"b\": \"2\"\r\n}"));
    }

    [Test]
    public void SerializerSettings_BindFromTheConfigurationSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EtcdSession:Endpoints"] = EtcdFixture.Endpoints,
            ["EtcdSession:Serializer"] = "yaml",
            ["EtcdSession:SerializeOptions:Flow"] = "true",
            ["EtcdSession:DeserializeOptions:Banner"] = "b",
        }).Build();
        using var services = new ServiceCollection().AddEtcdSession(configuration.GetSection("EtcdSession")).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<EtcdSessionOptions>>().Value;

        Assert.Multiple(() =>
        {
            Assert.That(options.Serializer, Is.EqualTo("yaml"));
            Assert.That(options.SerializeOptions["FLOW"], Is.EqualTo("true"));
            Assert.That(options.DeserializeOptions["banner"], Is.EqualTo("b"));
        });
    }

    [Test]
    public async Task YamlWithFlowOption_WritesTheMappingOnOneLine()
    {
        using var store = TestStore.Create(o => { o.Serializer = "YAML"; o.SerializeOptions["Flow"] = "true"; });
        var session = store.NewSession();
        session.SetString("a", "1");
        session.Set("b", Binary);
        await session.CommitAsync();

        var (_, payload) = await StoredAsync(store.StorageKeyOf(session.SessionKey));

        Assert.That(payload.TrimEnd(), Is.EqualTo("{a: 1, b: !!binary AP8B}"));
    }

    [Test]
    public async Task CustomSerializerByTypeName_IsCreatedThroughDI_WithTheOptions()
    {
        var usage = new SerializerUsage();
        using var store = TestStore.Create(
            o =>
            {
                o.Serializer = TypeName<BannerSerializer>();
                o.SerializeOptions["Banner"] = "written-by-banner";
                o.DeserializeOptions["Banner"] = "written-by-banner";
            },
            s => s.AddSingleton(usage));
        var session = await store.SeedAsync(("cart", "apples"));

        var (header, payload) = await StoredAsync(store.StorageKeyOf(session.SessionKey));
        var reopened = await store.OpenAsync(session.SessionKey);

        Assert.Multiple(() =>
        {
            Assert.That(header, Is.EqualTo("Banner"));
            Assert.That(payload, Does.StartWith("written-by-banner\n"));
            Assert.That(usage.Writes, Is.EqualTo(1));
            Assert.That(reopened.GetString("cart"), Is.EqualTo("apples"));
        });
    }

    [Test]
    public async Task CustomSerializerByTypeName_WithoutAnOptionsParameter_IsCreatedThroughDI()
    {
        var usage = new SerializerUsage();
        using var store = TestStore.Create(o => o.Serializer = TypeName<PlainCustomSerializer>(), s => s.AddSingleton(usage));
        var session = await store.SeedAsync(("cart", "apples"));

        var reopened = await store.OpenAsync(session.SessionKey);

        Assert.Multiple(async () =>
        {
            Assert.That((await StoredAsync(store.StorageKeyOf(session.SessionKey))).Serializer, Is.EqualTo("PlainCustom"));
            Assert.That(usage.Writes, Is.EqualTo(1));
            Assert.That(reopened.GetString("cart"), Is.EqualTo("apples"));
        });
    }

    [Test]
    public async Task SerializerRegisteredInCode_IsSelectableByName_AndStillReadsAfterSwitchingAway()
    {
        var usage = new SerializerUsage();
        void Register(EtcdSessionOptions o) => o.AddSerializer("PlainCustom", (sp, _) => new PlainCustomSerializer(sp.GetRequiredService<SerializerUsage>()));
        using var customApp = TestStore.Create(o => { Register(o); o.Serializer = "plaincustom"; }, s => s.AddSingleton(usage));
        var session = await customApp.SeedAsync(("cart", "apples"));
        using var jsonApp = TestStore.Create(o => { Register(o); o.KeyPrefix = customApp.Prefix; }, s => s.AddSingleton(usage));

        var reopened = await jsonApp.OpenAsync(session.SessionKey);

        Assert.Multiple(async () =>
        {
            Assert.That(usage.Writes, Is.EqualTo(1));
            Assert.That((await StoredAsync(customApp.StorageKeyOf(session.SessionKey))).Serializer, Is.EqualTo("PlainCustom"));
            Assert.That(reopened.GetString("cart"), Is.EqualTo("apples"));
        });
    }

    [Test]
    public void RegisteringUnderABuiltInName_IsRefused()
    {
        var options = new EtcdSessionOptions();

        Assert.That(() => options.AddSerializer("yaml", (_, _) => new PlainCustomSerializer(new SerializerUsage())), Throws.ArgumentException.With.Message.Contains("built-in"));
    }

    internal static string TypeName<T>() => $"{typeof(T).FullName}, {typeof(T).Assembly.GetName().Name}";

    private static async Task<(string Serializer, string Payload)> StoredAsync(string key)
    {
        var value = (await EtcdFixture.Client.GetAsync(key)).Kvs[0].Value.ToStringUtf8();
        var newline = value.IndexOf('\n', StringComparison.Ordinal);
        using var header = JsonDocument.Parse(value[..newline]);
        return (header.RootElement.GetProperty("ser").GetString()!, value[(newline + 1)..]);
    }
}
