using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The store's stored format (docs/storage-format.md), rebuilt here so that the scale benchmark can write
/// sessions straight into etcd: the key <c>{KeyPrefix}s/{base64url(SHA-256(secret))}</c>, the envelope of format
/// revision 1 (a JSON header line, then the items as the default JSON serializer writes them) and the expiry
/// lease id <c>(0x5E55 &lt;&lt; 40) | (slot &lt;&lt; 34) | expiry second</c>. The benchmark loads one such session
/// through the store before it relies on them (<see cref="BulkSessionFill.VerifyAsync"/>), so a change of the
/// format shows up as a failed run, not as wrong numbers.
/// </summary>
internal static class StoredSessionFormat
{
    public const int MaxLeaseSlot = 63;
    private const long LeaseTag = 0x5E55L << 40;
    private const int SecondBits = 34;
    private static readonly JsonWriterOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string StorageKey(string keyPrefix, string secret) =>
        keyPrefix + "s/" + Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static long LeaseId(long expirySecond, int slot) => LeaseTag | ((long)slot << SecondBits) | expirySecond;

    /// <summary>The whole second (Unix time) a deadline rounds up to, as the store rounds it.</summary>
    public static long SecondOf(DateTimeOffset deadline) => (deadline.ToUnixTimeMilliseconds() + 999) / 1000;

    /// <summary>A new session's value, as one commit of the store writes it (one commit id, no user binding).</summary>
    public static byte[] Envelope(DateTimeOffset created, TimeSpan idle, IReadOnlyList<KeyValuePair<string, byte[]>> items)
    {
        var output = new ArrayBufferWriter<byte>(384);
        using (var header = new Utf8JsonWriter(output))
        {
            header.WriteStartObject();
            header.WriteNumber("v", 1);
            header.WriteString("id", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            header.WriteNumber("created", created.ToUnixTimeMilliseconds());
            header.WriteNumber("idle", (long)idle.TotalSeconds);
            header.WriteNull("abs");
            header.WriteString("ser", "JSON");
            header.WriteStartArray("cids");
            header.WriteStringValue(Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(8)));
            header.WriteEndArray();
            header.WriteEndObject();
        }

        output.Write("\n"u8);
        using (var json = new Utf8JsonWriter(output, Relaxed))
        {
            json.WriteStartObject();
            foreach (var (key, value) in items)
            {
                // Every value the benchmark stores is valid UTF-8, which the JSON serializer writes as a string.
                json.WriteString(key, value);
            }

            json.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }
}
