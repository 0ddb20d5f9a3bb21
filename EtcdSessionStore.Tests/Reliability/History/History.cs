namespace Etcd.AspNetCore.Session.Tests.Reliability.History;

/// <summary>What one request did to its session.</summary>
public enum OperationKind
{
    /// <summary>Sets one item.</summary>
    Set,

    /// <summary>Sets one item, commits (<c>Session.CommitAsync</c>), sets another: two commits in one request.</summary>
    SetTwice,

    /// <summary>Writes and flushes the body, then sets an item: committed after the response started.</summary>
    SetAfterBody,

    /// <summary>Removes one item.</summary>
    Remove,

    /// <summary>Reads every item.</summary>
    Read,

    /// <summary>Reads every item through a cookie the browser held earlier (a stolen or restored one), leaving the jar alone.</summary>
    ReadOldCookie,

    /// <summary>Moves the session to a new key (change-id).</summary>
    Rotate,

    /// <summary>Deletes the session.</summary>
    Destroy,

    /// <summary>Cookie sign-in: moves the session to a new key and binds it to a user.</summary>
    SignIn,

    /// <summary>Cookie sign-out: deletes the session.</summary>
    SignOut,
}

/// <summary>One item an operation wrote; a <see langword="null"/> value removed it.</summary>
public sealed record ItemWrite(string Key, string? Value);

/// <summary>
/// One request as the history records it. Times are seconds since the run began, taken by the client just before
/// it sent the request and just after it read the whole response, so whatever the server did lies in between.
/// </summary>
public sealed record Operation
{
    public required int Id { get; init; }

    public required int Browser { get; init; }

    public required int Tab { get; init; }

    public required int Instance { get; init; }

    public required OperationKind Kind { get; init; }

    public required double Start { get; init; }

    public required double End { get; init; }

    /// <summary>The HTTP status; 0 when no complete response came (a transport error or a timeout).</summary>
    public required int Status { get; init; }

    /// <summary>The items the request set or removed (for <see cref="OperationKind.Destroy"/> and sign-out: none, the whole session goes).</summary>
    public IReadOnlyList<ItemWrite> Writes { get; init; } = [];

    /// <summary>The session (its public id) the request loaded, as the server reported it; <see langword="null"/> when the handler never ran.</summary>
    public string? SessionId { get; init; }

    /// <summary>The session the request's changes were committed to (after its commit), when the server reported it.</summary>
    public string? CommittedSessionId { get; init; }

    /// <summary>A hash of the session key under which the request found a stored session; <see langword="null"/> when it found none.</summary>
    public string? OpenedKey { get; init; }

    /// <summary>What a read returned, item by item.</summary>
    public IReadOnlyDictionary<string, string>? Items { get; init; }

    public string? CookieBefore { get; init; }

    public string? CookieAfter { get; init; }

    /// <summary>The exception the server's handler ended with, if any: for the report, not checked.</summary>
    public string? ServerError { get; init; }

    /// <summary>The client got a complete 2xx response.</summary>
    public bool Acknowledged => Status is >= 200 and < 300;

    /// <summary>Reads the session's items.</summary>
    public bool IsRead => Kind is OperationKind.Read or OperationKind.ReadOldCookie;

    /// <summary>Committed after the response started: the client's token could not carry this write's revision.</summary>
    public bool CommitsAfterBody => Kind == OperationKind.SetAfterBody;

    /// <summary>Ends the session (all its items) that it opened.</summary>
    public bool EndsSession => Kind is OperationKind.Destroy or OperationKind.SignOut;

    /// <summary>Moves the session it opened to a new key, or deletes it: the key it opened is dead afterwards.</summary>
    public bool KillsOpenedKey => EndsSession || Kind is OperationKind.Rotate or OperationKind.SignIn;
}

/// <summary>A finished run: its operations, how many tabs each browser had, and what etcd held at the end (session id → items).</summary>
public sealed record History(
    IReadOnlyList<Operation> Operations,
    IReadOnlyDictionary<int, int> TabsPerBrowser,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> FinalSessions);
