namespace Etcd.AspNetCore.Session.Import;

/// <summary>What became of a stock session cookie.</summary>
internal enum ImportResult
{
    /// <summary>Its session's items are in a new etcd session.</summary>
    Imported,

    /// <summary>Its session is gone or expired in the previous store: a fresh session.</summary>
    Missing,

    /// <summary>Its session's value is not in the stock format, or cannot be kept here: a fresh session, the value left where it was.</summary>
    Corrupt,

    /// <summary>The cookie could not be unprotected (forged, corrupted, or from another key ring): a fresh session.</summary>
    Rejected,
}
