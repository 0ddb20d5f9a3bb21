using Etcd.AspNetCore.Session.Format;

namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>What a load found.</summary>
internal enum LoadOutcome
{
    /// <summary>A live session: <see cref="Loaded.Stored"/> and its items.</summary>
    Found,

    /// <summary>The key names no session.</summary>
    NotFound,

    /// <summary>The key names nothing because a rotation moved the session away from it a moment ago.</summary>
    Moved,

    /// <summary>A session past its deadline that etcd still holds.</summary>
    Expired,

    /// <summary>A stored value that could not be decoded (left in etcd untouched).</summary>
    Unreadable,
}

/// <summary>What a load found, and for a live session the version and its items.</summary>
/// <param name="Outcome">What was found.</param>
/// <param name="Stored">The stored version, when found.</param>
/// <param name="Items">Its items, when found.</param>
/// <param name="Shared">The items are the near cache's: copied before the first change.</param>
internal readonly record struct Loaded(LoadOutcome Outcome, StoredSession? Stored = null, IReadOnlyDictionary<string, byte[]>? Items = null, bool Shared = false);

/// <summary>What a touch did.</summary>
internal enum TouchOutcome
{
    /// <summary>No refresh was due.</summary>
    NotDue,

    /// <summary>The key moved to a later lease.</summary>
    Touched,

    /// <summary>Another request wrote the session meanwhile: its write moved the expiry.</summary>
    WrittenMeanwhile,

    /// <summary>etcd failed (logged): the expiry stays where it was, and the next request tries again.</summary>
    Failed,
}

/// <summary>What a touch did, and the version the request holds afterwards.</summary>
internal readonly record struct Touched(TouchOutcome Outcome, StoredSession Stored);

/// <summary>What a rotation did.</summary>
internal enum RotateOutcome
{
    /// <summary>The session is at the new key.</summary>
    Rotated,

    /// <summary>Nothing was stored yet: only the key changes, and the first commit writes to the new one.</summary>
    NotStored,

    /// <summary>The session was destroyed or expired meanwhile: the request goes on with a new one under the new key.</summary>
    Gone,

    /// <summary>Another rotation of the same browser's session won: nothing was rotated, and the session lives on under that rotation's key.</summary>
    Moved,
}

/// <summary>What a rotation did.</summary>
/// <param name="Outcome">What it did.</param>
/// <param name="Stored">The session at its new key, when rotated.</param>
/// <param name="Items">The request's view afterwards: the version rotated, with the request's changes applied.</param>
internal readonly record struct Rotated(RotateOutcome Outcome, StoredSession? Stored, IReadOnlyDictionary<string, byte[]> Items);

/// <summary>What a destroy did.</summary>
internal enum DestroyOutcome
{
    /// <summary>The session is gone (or was already).</summary>
    Destroyed,

    /// <summary>Nothing was destroyed: another request rotated the session to a key only it knows.</summary>
    Moved,
}

/// <summary>The user a sign-in binds the session to, and what is listed with the session under that user.</summary>
internal sealed record UserBinding(string User, IReadOnlyDictionary<string, string>? Metadata);
