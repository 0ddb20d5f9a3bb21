using System.Text.Json;
using System.Text.Json.Serialization;

namespace EtcdSessionStore.AotApp;

/// <summary>
/// Request and response bodies and the cart in the session, serialized by generated code. Web defaults (camelCase)
/// for both, so the cart reads the same in a response and in etcd.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Counter))]
[JsonSerializable(typeof(CartLine))]
[JsonSerializable(typeof(Cart))]
internal sealed partial class AotAppJsonContext : JsonSerializerContext;
