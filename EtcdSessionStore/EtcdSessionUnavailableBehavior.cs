namespace Etcd.AspNetCore.Session;

/// <summary>What <c>app.UseEtcdSession()</c> does with a request whose session cannot be loaded because etcd is unreachable.</summary>
public enum EtcdSessionUnavailableBehavior
{
    /// <summary>Answer 503 Service Unavailable with a problem-details body; the endpoint does not run.</summary>
    FailRequest = 0,

    /// <summary>
    /// Run the endpoint with an unavailable session: <c>ISession.IsAvailable</c> is <see langword="false"/>,
    /// reads find nothing, and writes throw <see cref="InvalidOperationException"/>.
    /// </summary>
    ContinueWithoutSession = 1,
}
