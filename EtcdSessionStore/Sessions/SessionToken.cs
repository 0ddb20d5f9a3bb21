namespace Etcd.AspNetCore.Session.Sessions;

/// <summary>What becomes of the client's token (cookie or header) at the end of a request.</summary>
internal enum TokenAction
{
    /// <summary>Leave it as it is (nothing new to say, or the session's state is not known).</summary>
    Keep,

    /// <summary>Send a new one: <see cref="SessionToken.Secret"/>, <see cref="SessionToken.Revision"/>, <see cref="SessionToken.MaxAge"/>.</summary>
    Issue,

    /// <summary>Delete it: it opens nothing any more.</summary>
    Delete,
}

/// <summary>The session's one answer for the client's token: keep it, issue a new one, or delete it.</summary>
/// <param name="Action">What to do.</param>
/// <param name="Secret">The secret key the issued token carries.</param>
/// <param name="Revision">The revision the issued token carries (0: none).</param>
/// <param name="MaxAge">The issued token's lifetime when the session has an idle timeout of its own; <see langword="null"/>: a browser-session cookie.</param>
internal readonly record struct SessionToken(TokenAction Action, string? Secret = null, long Revision = 0, TimeSpan? MaxAge = null)
{
    public static SessionToken Keep => new(TokenAction.Keep);

    public static SessionToken Delete => new(TokenAction.Delete);

    public static SessionToken Issue(string secret, long revision, TimeSpan? maxAge) => new(TokenAction.Issue, secret, revision, maxAge);
}
