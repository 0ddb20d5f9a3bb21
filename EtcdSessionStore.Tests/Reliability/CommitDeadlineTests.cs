using System.Diagnostics;
using Etcd.AspNetCore.Session.Expiry;
using Etcd.AspNetCore.Session.Format;
using Etcd.AspNetCore.Session.Serialization;
using Etcd.AspNetCore.Session.Sessions;
using Etcd.AspNetCore.Session.Storage;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Etcd.AspNetCore.Session.Tests.Reliability;

/// <summary>A commit has one deadline, IOTimeout from when it begins, that every queue and call it goes through shares.</summary>
public sealed class CommitDeadlineTests
{
    private static readonly TimeSpan IOTimeout = TimeSpan.FromSeconds(2);

    [Test]
    public async Task ACommitQueuedBehindStalledWrites_AnswersTimeout_WithinAboutIOTimeout()
    {
        var etcd = new StallingEtcd(grantDelay: TimeSpan.FromMilliseconds(400));
        using var client = new dotnet_etcd.EtcdClient(EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: [etcd]);
        var backend = BackendOn(client);

        // Another session's write holds the group's transaction slot (a frozen member)...
        var other = await LoadedAsync(backend, SessionKeys.NewSecret());
        other.SetString("x", "1");
        var blocking = other.CommitAsync();
        await Task.WhenAny(etcd.FirstTxn, blocking, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.That(etcd.FirstTxn.IsCompleted, Is.True, () => $"no transaction went to etcd; the first commit: {blocking.Exception}");

        // ...while two requests of one session commit: the first waits for the group, the second for the first.
        var secret = SessionKeys.NewSecret();
        var first = await LoadedAsync(backend, secret);
        var second = await LoadedAsync(backend, secret);
        first.SetString("a", "1");
        second.SetString("b", "2");
        var firstCommit = TimedAsync(first.CommitAsync);
        var secondCommit = TimedAsync(second.CommitAsync);
        var outcomes = await Task.WhenAll(firstCommit, secondCommit);
        Assert.That(async () => await blocking, Throws.InstanceOf<EtcdSessionException>());

        Assert.Multiple(() =>
        {
            foreach (var (elapsed, error) in outcomes)
            {
                Assert.That(error?.Kind, Is.EqualTo(EtcdSessionErrorKind.Timeout), error?.ToString());
                Assert.That(elapsed, Is.LessThan(IOTimeout * 1.5 + TimeSpan.FromSeconds(0.5)),
                    "one deadline for the lane, the group queue, the lease grant and every attempt");
            }
        });
    }

    private static async Task<(TimeSpan Elapsed, EtcdSessionException? Error)> TimedAsync(Func<CancellationToken, Task> commit)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await commit(CancellationToken.None);
            return (watch.Elapsed, null);
        }
        catch (EtcdSessionException ex)
        {
            return (watch.Elapsed, ex);
        }
    }

    private static SessionRepository BackendOn(dotnet_etcd.EtcdClient client)
    {
        var options = new EtcdSessionOptions { IOTimeout = IOTimeout, KeyPrefix = EtcdFixture.UniquePrefix(nameof(CommitDeadlineTests)) };
        var gateway = new EtcdGateway(client, options.IOTimeout, NullLogger.Instance);
        var codec = new SessionCodec(new SessionSerializerSet(new JsonSessionSerializer(), []), options.MaxSessionBytes);
        return new SessionRepository(options, gateway, new ExpiryLeasePool(gateway, TimeProvider.System), codec, TimeProvider.System, NullLoggerFactory.Instance);
    }

    private static async Task<EtcdSession> LoadedAsync(SessionRepository backend, string secret)
    {
        var session = new EtcdSession(backend, secret, TimeSpan.FromMinutes(20), tryEstablishSession: null, isNewSessionKey: true, KeyPolicy.Strict);
        await session.LoadAsync();
        return session;
    }

    /// <summary>A slow etcd: lease grants answer late (within an attempt's deadline), and transactions never answer (a frozen member).</summary>
    private sealed class StallingEtcd(TimeSpan grantDelay) : Interceptor
    {
        private readonly TaskCompletionSource _firstTxn = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstTxn => _firstTxn.Task;

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var cancellation = context.Options.CancellationToken;
            return context.Method.Name switch
            {
                "LeaseGrant" => Answer(LateAsync(grantDelay, () => continuation(request, context).ResponseAsync, cancellation)),
                "Txn" => Answer(NeverAsync<TResponse>(cancellation)),
                _ => continuation(request, context),
            };
        }

        private async Task<T> NeverAsync<T>(CancellationToken cancellationToken)
        {
            _firstTxn.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new UnreachableException();
        }

        private static async Task<T> LateAsync<T>(TimeSpan delay, Func<Task<T>> reply, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken);
            return await reply();
        }

        private static AsyncUnaryCall<T> Answer<T>(Task<T> response) =>
            new(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }
}
