namespace Etcd.AspNetCore.Session.Sessions;

// The session's own idle timeout ("remember me").
internal sealed partial class EtcdSession
{
    /// <summary>The idle timeout in force for this session: the one chosen for it (<c>SetIdleTimeout</c>), else the app's.</summary>
    internal TimeSpan IdleTimeout => ChosenIdleTimeout ?? _idleTimeout;

    /// <summary>
    /// Gives this one session its own idle timeout from this request's commit on (a "remember me" sign-in, say). It is
    /// stored with the session, survives rotation, and is still capped by <see cref="EtcdSessionOptions.AbsoluteTimeout"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside what <see cref="EtcdSessionOptions.IdleTimeout"/> allows (2 seconds to 365 days).</exception>
    internal void SetIdleTimeout(TimeSpan idleTimeout)
    {
        if (idleTimeout < EtcdSessionOptions.MinIdleTimeout || idleTimeout > EtcdSessionOptions.MaxIdleTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), idleTimeout,
                $"A session's idle timeout must be between {EtcdSessionOptions.MinIdleTimeout.TotalSeconds:0} seconds (etcd's shortest lease) and {EtcdSessionOptions.MaxIdleTimeout.TotalDays:0} days, as IdleTimeout.");
        }

        ThrowIfNotWritable();
        _changes.ChosenIdleTimeout = idleTimeout;
        _choseIdleTimeout = true; // the token is issued again, to live as long
    }

    /// <summary>The idle timeout chosen for this session, stored or about to be, if any.</summary>
    internal TimeSpan? ChosenIdleTimeout => _changes.ChosenIdleTimeout ?? _stored?.Header.ChosenIdleTimeout;
}
