using System.Text;
using Etcd.AspNetCore.Session.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using System.Text.Json;

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
