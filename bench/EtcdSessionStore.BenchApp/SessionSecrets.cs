using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Etcd.AspNetCore.Session.BenchApp;

/// <summary>
/// The secrets (what a cookie carries) of numbered sessions, derived from a random seed instead of kept: a
/// million sessions cost the benchmark process no memory, so its heap is the store's. Each secret is 43
/// base64url characters, like the store's own.
/// </summary>
internal sealed class SessionSecrets
{
    private readonly byte[] _seed = RandomNumberGenerator.GetBytes(32);

    /// <summary>How many sessions have been written so far (numbered 0 to Count - 1).</summary>
    public int Count { get; set; }

    public string Of(int index)
    {
        Span<byte> input = stackalloc byte[36];
        _seed.CopyTo(input);
        BinaryPrimitives.WriteInt32BigEndian(input[32..], index);
        return Base64Url.EncodeToString(SHA256.HashData(input));
    }

    /// <summary>The secret of a session picked at random among those written.</summary>
    public string Random() => Of(System.Random.Shared.Next(Count));
}
