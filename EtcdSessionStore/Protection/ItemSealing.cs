using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Protection;

/// <summary>
/// Seals session items at rest (<see cref="EtcdSessionOptions.EncryptAtRest"/>) with AES-256-GCM under a data key of
/// this instance, and opens what any instance sealed. Each data key is random, made when this instance first seals or
/// when the app's Data Protection key ring has moved to a new default key, and travels in every value it seals wrapped
/// with Data Protection (<see cref="Purpose"/>): so a value opens wherever the key ring that wrapped its data key is
/// (older keys included, as long as the ring keeps them and they are not revoked), and nowhere else. The associated data
/// is the session's public id: items sealed for one session do not open under another's header. Layout in
/// docs/storage-format.md:
/// <code>
/// [1] layout revision (1) | [16] data key id | [2] n, big-endian | [n] wrapped data key | [12] nonce | ciphertext | [16] tag
/// </code>
/// </summary>
internal sealed partial class ItemSealing
{
    /// <summary>The Data Protection purpose that wraps data keys: a key ring's other uses (cookies, tickets) cannot open them.</summary>
    public const string Purpose = "Etcd.AspNetCore.Session.Items.v1";

    /// <summary>How often the current data key is checked against the key ring's default key, besides on every change this instance's key manager reports.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(1);

    /// <summary>How long an opened data key is kept before Data Protection is asked again (so a revocation seen there applies here).</summary>
    public static readonly TimeSpan OpenedKeyLifetime = TimeSpan.FromMinutes(10);

    /// <summary>The most opened data keys kept (one per instance and key-ring key in use): a bound, not a policy.</summary>
    public const int OpenedKeyCapacity = 4096;

    private const byte LayoutRevision = 1;
    private const int IdBytes = 16;
    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    // A Data Protection payload starts with this magic header and the id of the key that protected it.
    private const uint DataProtectionMagic = 0x09F0C9F0;

    private readonly IDataProtector _protector;
    private readonly IKeyManager? _keyManager;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private DataKey? _current;
    private long _recheckAfterTicks;
    private ConcurrentDictionary<Guid, Opened> _opened = new();

    /// <param name="provider">The app's Data Protection.</param>
    /// <param name="keyManager">Its key manager, when it has one: a key created or revoked through it is seen at once.</param>
    /// <param name="time">The clock of the recheck and of opened keys' lifetime.</param>
    /// <param name="logger">Logs values that do not open.</param>
    /// <param name="sealsWrites">Seal what is written (<see cref="EtcdSessionOptions.EncryptAtRest"/>); values are opened either way.</param>
    public ItemSealing(IDataProtectionProvider provider, IKeyManager? keyManager, TimeProvider time, ILogger logger, bool sealsWrites)
    {
        _protector = provider.CreateProtector(Purpose);
        _keyManager = keyManager;
        _time = time;
        _logger = logger;
        SealsWrites = sealsWrites;
        WatchKeyRing();
    }

    /// <summary>New values are sealed.</summary>
    public bool SealsWrites { get; }

    /// <summary>The data key the next value is sealed with: a new one once the key ring's default key is another than the one that wrapped it.</summary>
    /// <exception cref="EtcdSessionException">Kind <see cref="EtcdSessionErrorKind.Unavailable"/>: Data Protection could not protect a first data key.</exception>
    public DataKey CurrentKey()
    {
        var now = _time.GetUtcNow().UtcTicks;
        if (Volatile.Read(ref _current) is { } current && now < Interlocked.Read(ref _recheckAfterTicks))
        {
            return current;
        }

        lock (_gate)
        {
            current = _current;
            if (current is not null && now < _recheckAfterTicks)
            {
                return current;
            }

            try
            {
                // Which key does Data Protection protect with now? Only a change of it makes a new data key.
                if (current is null || RingKeyIdOf(_protector.Protect(current.Id)) != current.RingKeyId)
                {
                    current = NewKey();
                }
            }
            catch (Exception ex) when (current is not null && ex is CryptographicException or EtcdSessionException)
            {
                // The key ring cannot be read right now: go on with the data key in hand, and ask again at the next recheck.
            }
            catch (Exception ex) when (ex is CryptographicException)
            {
                throw new EtcdSessionException(EtcdSessionErrorKind.Unavailable,
                    "Session items cannot be sealed (EncryptAtRest): Data Protection failed to protect a data key: " + ex.Message, ex);
            }

            Volatile.Write(ref _current, current);
            Interlocked.Exchange(ref _recheckAfterTicks, now + RecheckInterval.Ticks);
            return current;
        }
    }

    /// <summary>Writes <paramref name="plaintext"/>, sealed with <paramref name="key"/> for session <paramref name="sessionId"/>, to <paramref name="output"/>.</summary>
    public static void Seal(DataKey key, string sessionId, ReadOnlySpan<byte> plaintext, IBufferWriter<byte> output)
    {
        var length = 1 + IdBytes + 2 + key.Wrapped.Length + NonceBytes + plaintext.Length + TagBytes;
        var span = output.GetSpan(length)[..length];
        span[0] = LayoutRevision;
        key.Id.CopyTo(span[1..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[(1 + IdBytes)..], (ushort)key.Wrapped.Length);
        key.Wrapped.CopyTo(span[(3 + IdBytes)..]);
        var rest = span[(3 + IdBytes + key.Wrapped.Length)..];
        var nonce = rest[..NonceBytes];
        key.NextNonce(nonce);
        using (var aes = new AesGcm(key.Key, TagBytes))
        {
            aes.Encrypt(nonce, plaintext, rest.Slice(NonceBytes, plaintext.Length), rest.Slice(NonceBytes + plaintext.Length, TagBytes), AssociatedData(sessionId));
        }

        output.Advance(length);
    }

    /// <summary>The items <paramref name="sealedItems"/> holds, as the serializer wrote them.</summary>
    /// <param name="sessionId">The public id in the value's header: the associated data.</param>
    /// <param name="ringKeyId">The key id the header names (for the log).</param>
    /// <param name="sealedItems">What follows the header.</param>
    /// <exception cref="FormatException">The items do not open (logged as <c>SessionUnsealFailed</c>): tampered, another session's, or their key is not in the key ring.</exception>
    public byte[] Open(string sessionId, string ringKeyId, ReadOnlySpan<byte> sealedItems)
    {
        string reason;
        Exception? cause = null;
        if (sealedItems.Length < 3 + IdBytes + NonceBytes + TagBytes || sealedItems[0] != LayoutRevision)
        {
            reason = sealedItems.Length > 0 && sealedItems[0] != LayoutRevision
                ? $"its sealed layout revision is {sealedItems[0]}; this version reads {LayoutRevision}"
                : "it is too short to be sealed";
        }
        else
        {
            var id = sealedItems.Slice(1, IdBytes);
            var wrappedLength = BinaryPrimitives.ReadUInt16BigEndian(sealedItems[(1 + IdBytes)..]);
            var rest = sealedItems[(3 + IdBytes)..];
            if (rest.Length < wrappedLength + NonceBytes + TagBytes)
            {
                reason = "it is truncated";
            }
            else if (DataKeyOf(id, rest[..wrappedLength], out cause) is not { } key)
            {
                reason = "its data key does not unwrap: the Data Protection key that wrapped it is not in this app's key ring (removed, revoked, another application name) or the value was altered";
            }
            else
            {
                rest = rest[wrappedLength..];
                var ciphertext = rest[NonceBytes..^TagBytes];
                var plaintext = new byte[ciphertext.Length];
                try
                {
                    using var aes = new AesGcm(key, TagBytes);
                    aes.Decrypt(rest[..NonceBytes], ciphertext, rest[^TagBytes..], plaintext, AssociatedData(sessionId));
                    return plaintext;
                }
                catch (CryptographicException ex)
                {
                    cause = ex;
                    reason = "its seal does not verify: the value was altered, or its items were sealed for another session";
                }
            }
        }

        Log.UnsealFailed(_logger, sessionId, ringKeyId, reason, cause);
        throw new FormatException($"The sealed items of session {sessionId} do not open: {reason}.", cause);
    }

    /// <summary>The data key of <paramref name="id"/>: remembered, or unwrapped from <paramref name="wrapped"/> by Data Protection.</summary>
    private byte[]? DataKeyOf(ReadOnlySpan<byte> id, ReadOnlySpan<byte> wrapped, out Exception? cause)
    {
        cause = null;
        var keyId = new Guid(id);
        var now = _time.GetUtcNow().UtcTicks;
        var opened = Volatile.Read(ref _opened);
        if (opened.TryGetValue(keyId, out var known) && now < known.UntilTicks)
        {
            return known.Key;
        }

        byte[] unwrapped;
        try
        {
            unwrapped = _protector.Unprotect(wrapped.ToArray());
        }
        catch (CryptographicException ex)
        {
            cause = ex;
            return null;
        }

        // The wrapped key names the id it was made with: an id copied beside another wrapped key does not adopt it.
        if (unwrapped.Length != IdBytes + KeyBytes || !unwrapped.AsSpan(0, IdBytes).SequenceEqual(id))
        {
            return null;
        }

        var key = unwrapped[IdBytes..];
        Remember(keyId, key, now);
        return key;
    }

    private void Remember(Guid id, byte[] key, long now)
    {
        var opened = Volatile.Read(ref _opened);
        if (opened.Count >= OpenedKeyCapacity)
        {
            Volatile.Write(ref _opened, opened = new ConcurrentDictionary<Guid, Opened>());
        }

        opened[id] = new Opened(key, now + OpenedKeyLifetime.Ticks);
    }

    private DataKey NewKey()
    {
        var idAndKey = RandomNumberGenerator.GetBytes(IdBytes + KeyBytes);
        var wrapped = _protector.Protect(idAndKey);
        if (wrapped.Length > ushort.MaxValue)
        {
            throw new CryptographicException($"Data Protection wrapped a {IdBytes + KeyBytes}-byte data key into {wrapped.Length} bytes.");
        }

        var key = new DataKey(idAndKey[..IdBytes], idAndKey[IdBytes..], wrapped, RingKeyIdOf(wrapped));
        Remember(new Guid(key.Id), key.Key, _time.GetUtcNow().UtcTicks);
        return key;
    }

    /// <summary>The id of the key-ring key that protected <paramref name="payload"/>, or <see langword="null"/> for a payload not in Data Protection's own layout.</summary>
    private static Guid? RingKeyIdOf(byte[] payload) =>
        payload.Length >= 20 && BinaryPrimitives.ReadUInt32BigEndian(payload) == DataProtectionMagic ? new Guid(payload.AsSpan(4, 16)) : null;

    private static byte[] AssociatedData(string sessionId) => Encoding.UTF8.GetBytes(sessionId);

    private void WatchKeyRing()
    {
        if (_keyManager?.GetCacheExpirationToken() is not { } keyRingChanged || keyRingChanged.IsCancellationRequested)
        {
            return; // no key manager (or one that always says "changed"): the recheck interval alone
        }

        // A key created or revoked here: recheck the current key at the next seal, and ask Data Protection again for every
        // data key (it refuses those of a revoked key). The key manager hands out a new token after each change.
        keyRingChanged.UnsafeRegister(static state =>
        {
            var sealing = (ItemSealing)state!;
            Interlocked.Exchange(ref sealing._recheckAfterTicks, 0);
            Volatile.Write(ref sealing._opened, new ConcurrentDictionary<Guid, Opened>());
            sealing.WatchKeyRing();
        }, this);
    }

    private readonly record struct Opened(byte[] Key, long UntilTicks);

    /// <summary>A data key of this instance: only this instance seals with it, so its nonces are a counter.</summary>
    internal sealed class DataKey
    {
        private readonly int _noncePrefix = RandomNumberGenerator.GetInt32(int.MaxValue);
        private long _sealed;

        public DataKey(byte[] id, byte[] key, byte[] wrapped, Guid? ringKeyId)
        {
            Id = id;
            Key = key;
            Wrapped = wrapped;
            RingKeyId = ringKeyId;
        }

        public byte[] Id { get; }

        public byte[] Key { get; }

        /// <summary>Data Protection's payload of <see cref="Id"/> followed by <see cref="Key"/>.</summary>
        public byte[] Wrapped { get; }

        /// <summary>The key-ring key that wrapped it, as the header names it (<see langword="null"/>: not Data Protection's own layout).</summary>
        public Guid? RingKeyId { get; }

        /// <summary>The header's name of <see cref="RingKeyId"/>.</summary>
        public string RingKeyName => RingKeyId?.ToString("D") ?? "unknown";

        public void NextNonce(Span<byte> nonce)
        {
            BinaryPrimitives.WriteInt32BigEndian(nonce, _noncePrefix);
            BinaryPrimitives.WriteInt64BigEndian(nonce[4..], Interlocked.Increment(ref _sealed));
        }
    }
}
