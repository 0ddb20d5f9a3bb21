using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Etcd.AspNetCore.Session.Tests.Serialization;

public sealed class EtcdSessionJsonExtensionsTests
{
    public sealed record Cart(string Owner, List<string> Items, DateTimeOffset Updated, string Note);

    private static readonly Cart SampleCart = new("alice", ["apples", "pears"], new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), "2026-01-02T03:04:05Z");

    [TestCase("JSON")]
    [TestCase("YAML")]
    [TestCase("Binary")]
    public async Task TypedValue_RoundTripsThroughEtcd_WithAnySerializer(string serializer)
    {
        using var store = TestStore.Create(o => o.Serializer = serializer);
        var session = store.NewSession();
        session.SetJson("cart", SampleCart);
        session.SetJson("count", 42);
        await session.CommitAsync();

        var reopened = await store.OpenAsync(session.SessionKey);
        var cart = reopened.GetJson<Cart>("cart");

        Assert.Multiple(() =>
        {
            Assert.That(cart, Is.EqualTo(SampleCart with { Items = cart!.Items }));
            Assert.That(cart.Items, Is.EqualTo(SampleCart.Items));
            Assert.That(cart.Note, Is.EqualTo("2026-01-02T03:04:05Z"), "a string that looks like a date stays as written");
            Assert.That(reopened.GetJson<int>("count"), Is.EqualTo(42));
        });
    }

    [Test]
    public async Task TypedValue_IsStoredAsJsonText_ReadableWithEtcdctl()
    {
        using var store = TestStore.Create(o => o.Serializer = "YAML");
        var session = store.NewSession();
        session.SetJson("cart", SampleCart);
        await session.CommitAsync();

        var stored = (await EtcdFixture.Client.GetAsync(store.StorageKeyOf(session.SessionKey))).Kvs[0].Value.ToStringUtf8();

        Assert.That(stored, Does.Contain("\"Owner\":\"alice\""));
    }

    [Test]
    public void MissingKey_GivesTheDefault()
    {
        var session = new InMemorySession();

        Assert.Multiple(() =>
        {
            Assert.That(session.GetJson<Cart>("none"), Is.Null);
            Assert.That(session.GetJson<int>("none"), Is.Zero);
        });
    }

    [Test]
    public void TypeNamesInStoredData_AreIgnored()
    {
        var session = new InMemorySession();
        session.Set("v", Encoding.UTF8.GetBytes("{\"$type\":\"System.IO.FileInfo, System.IO.FileSystem\",\"fileName\":\"/etc/passwd\"}"));

        var value = session.GetJson<object>("v");

        Assert.That(value, Is.InstanceOf<JsonElement>(), "a plain JSON value, no type created from the data");
    }

    [TestCase("not json")]
    [TestCase("{\"Owner\":")]
    [TestCase("{} {}")]
    public void ValueThatIsNotJsonForTheType_ThrowsFormatException(string stored)
    {
        var session = new InMemorySession();
        session.Set("v", Encoding.UTF8.GetBytes(stored));

        Assert.That(() => session.GetJson<Cart>("v"), Throws.InstanceOf<FormatException>().With.Message.Contains("'v'"));
    }

    [Test]
    public void DeeplyNestedValue_ThrowsFormatException()
    {
        var session = new InMemorySession();
        session.Set("v", Encoding.UTF8.GetBytes(new string('[', 10_000) + new string(']', 10_000)));

        Assert.That(() => session.GetJson<object>("v"), Throws.InstanceOf<FormatException>());
    }

    [Test]
    public void SourceGeneratedMetadata_WithTheDocumentedOptions_StoresTheSameJsonAsReflection()
    {
        var basket = new Basket { Owner = "bob", Count = 2 };
        var viaReflection = new InMemorySession();
        viaReflection.SetJson("cart", SampleCart);
        viaReflection.SetJson("basket", basket);
        var viaContext = new InMemorySession();
        viaContext.SetJson("cart", SampleCart, SessionValuesJsonContext.Default.Cart);
        viaContext.SetJson("basket", basket, SessionValuesJsonContext.Default.Basket);

        Assert.Multiple(() =>
        {
            Assert.That(viaContext.Get("cart"), Is.EqualTo(viaReflection.Get("cart")));
            Assert.That(viaContext.Get("basket"), Is.EqualTo(viaReflection.Get("basket")), "public fields count under both");
            Assert.That(viaContext.GetJson("cart", SessionValuesJsonContext.Default.Cart)!.Items, Is.EqualTo(SampleCart.Items));
        });
    }

    [Test]
    public void SourceGeneratedMetadata_ReadsCaseInsensitively_AndThrowsFormatExceptionForOtherJson()
    {
        var session = new InMemorySession();
        session.Set("basket", """{"owner":"bob","COUNT":2}"""u8.ToArray());
        session.Set("bad", """{"Count":"two"}"""u8.ToArray());

        var basket = session.GetJson("basket", SessionValuesJsonContext.Default.Basket);

        Assert.Multiple(() =>
        {
            Assert.That((basket!.Owner, basket.Count), Is.EqualTo(("bob", 2)));
            Assert.That(session.GetJson("none", SessionValuesJsonContext.Default.Basket), Is.Null);
            Assert.That(() => session.GetJson("bad", SessionValuesJsonContext.Default.Basket), Throws.InstanceOf<FormatException>().With.Message.Contains("'bad'"));
        });
    }

    /// <summary>A value with a public field, which the documented options include.</summary>
    public sealed class Basket
    {
#pragma warning disable CA1051 // a public field on purpose: IncludeFields is part of the stored format
        public string Owner = "";
#pragma warning restore CA1051

        public int Count { get; set; }
    }

    /// <summary>An in-memory ISession: the helpers work on any session, not only the etcd one.</summary>
    private sealed class InMemorySession : ISession
    {
        private readonly Dictionary<string, byte[]> _items = [];

        public bool IsAvailable => true;

        public string Id => "test";

        public IEnumerable<string> Keys => _items.Keys;

        public void Clear() => _items.Clear();

        public Task CommitAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task LoadAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public void Remove(string key) => _items.Remove(key);

        public void Set(string key, byte[] value) => _items[key] = value;

        public bool TryGetValue(string key, out byte[] value) => _items.TryGetValue(key, out value!);
    }
}

/// <summary>What an AOT app declares for its session values: the options docs/aot.md gives, so the JSON matches SetJson's.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, IncludeFields = true, MaxDepth = 32)]
[JsonSerializable(typeof(EtcdSessionJsonExtensionsTests.Cart))]
[JsonSerializable(typeof(EtcdSessionJsonExtensionsTests.Basket))]
internal sealed partial class SessionValuesJsonContext : JsonSerializerContext;
