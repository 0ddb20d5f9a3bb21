using Etcdserverpb;
using Google.Protobuf;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>Prefix ranges: etcd reads "every key starting with P" as the range [P, P with its last byte + 1).</summary>
internal static class KeyRange
{
    /// <summary>A Range over every key that starts with <paramref name="prefix"/>.</summary>
    public static RangeRequest Prefix(string prefix) => new()
    {
        Key = ByteString.CopyFromUtf8(prefix),
        RangeEnd = End(prefix),
    };

    /// <summary>The exclusive end of the range of keys that start with <paramref name="prefix"/>.</summary>
    public static ByteString End(string prefix)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xFF)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0); // every key
    }
}
