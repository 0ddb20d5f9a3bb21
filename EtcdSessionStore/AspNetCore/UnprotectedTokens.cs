using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.DataProtection.KeyManagement;

namespace Etcd.AspNetCore.Session.AspNetCore;

/// <summary>
/// The secret keys of the tokens this instance made or unprotected lately, by the token's exact protected text, so that
/// a client's requests do not each pay Data Protection's key derivation and decryption (about 20 us a request). Only a
/// token that did unprotect is kept, for at most <see cref="Lifetime"/>, and at most <see cref="Capacity"/> of them.
/// </summary>
/// <remarks>
/// When this instance's key ring changes (a key created or revoked through its key manager), every entry is dropped and
/// nothing is kept for <see cref="Lifetime"/>: Data Protection reloads its key ring in the background, and a token that
/// still unprotects against the old ring meanwhile must not be remembered. So a key revoked here stops opening tokens as
/// soon as Data Protection sees it; a key revoked on another instance, at most <see cref="Lifetime"/> after this
/// instance's Data Protection sees it.
/// </remarks>
internal sealed class UnprotectedTokens
{
    public const int Capacity = 16_384;

    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly IKeyManager? _keyManager;
    private ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private int _count;
    private long _keepNothingUntilTicks;

    public UnprotectedTokens(TimeProvider time, IKeyManager? keyManager)
    {
        _time = time;
        _keyManager = keyManager;
        WatchKeyRing();
    }

    public bool TryGet(string protectedKey, [NotNullWhen(true)] out string? secret)
    {
        if (Volatile.Read(ref _entries).TryGetValue(protectedKey, out var entry) && _time.GetUtcNow().UtcTicks < entry.UntilTicks)
        {
            secret = entry.Secret;
            return true;
        }

        secret = null;
        return false;
    }

    /// <summary>Remembers that <paramref name="protectedKey"/> carries <paramref name="secret"/> (it was just made, or unprotected).</summary>
    public void Add(string protectedKey, string secret)
    {
        var now = _time.GetUtcNow().UtcTicks;
        if (now < Interlocked.Read(ref _keepNothingUntilTicks))
        {
            return;
        }

        var entries = Volatile.Read(ref _entries);
        var entry = new Entry(secret, now + Lifetime.Ticks);
        if (!entries.TryAdd(protectedKey, entry))
        {
            entries[protectedKey] = entry; // renewed after its lifetime ran out
        }
        else if (Interlocked.Increment(ref _count) > Capacity)
        {
            Clear(); // a bound, not a policy: the next requests unprotect again
        }
    }

    private void Clear()
    {
        Volatile.Write(ref _entries, new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal));
        Volatile.Write(ref _count, 0);
    }

    private void WatchKeyRing()
    {
        if (_keyManager?.GetCacheExpirationToken() is not { } keyRingChanged)
        {
            return;
        }

        if (keyRingChanged.IsCancellationRequested)
        {
            Interlocked.Exchange(ref _keepNothingUntilTicks, long.MaxValue); // a key manager that always says "changed": keep nothing
            return;
        }

        // The key manager hands out a new token after each change, so watching goes on from the callback.
        keyRingChanged.UnsafeRegister(static state =>
        {
            var tokens = (UnprotectedTokens)state!;
            Interlocked.Exchange(ref tokens._keepNothingUntilTicks, tokens._time.GetUtcNow().UtcTicks + Lifetime.Ticks);
            tokens.Clear();
            tokens.WatchKeyRing();
        }, this);
    }

    private readonly record struct Entry(string Secret, long UntilTicks);
}
