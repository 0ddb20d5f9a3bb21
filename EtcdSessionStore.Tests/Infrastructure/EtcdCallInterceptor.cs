using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>
/// Counts the unary etcd calls a client makes and, while <see cref="Failing"/> is set (or for the method named by
/// <see cref="FailingMethod"/>), fails them as an unreachable etcd would. <see cref="DropNextReply"/> lets one call
/// reach etcd and loses its reply, as a broken connection does after the server applied a write.
/// </summary>
public sealed class EtcdCallInterceptor : Interceptor
{
    private readonly ConcurrentDictionary<string, int> _byMethod = new(StringComparer.Ordinal);
    private int _calls;
    private (string Method, Func<Task>? BeforeFailing)? _dropNext;
    private (string Method, Func<Task> BeforeReply)? _holdNext;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The calls since the start or the last <see cref="Reset"/>, by gRPC method name (Range, Txn, LeaseGrant, ...).</summary>
    public IReadOnlyDictionary<string, int> ByMethod => new Dictionary<string, int>(_byMethod);

    public int CallsOf(string method) => _byMethod.GetValueOrDefault(method);

    public void Reset()
    {
        _byMethod.Clear();
        Interlocked.Exchange(ref _calls, 0);
    }

    public bool Failing { get; set; }

    /// <summary>While set, only calls of this gRPC method (e.g. <c>Txn</c>) fail.</summary>
    public string? FailingMethod { get; set; }

    /// <summary>
    /// The next call of <paramref name="method"/> is applied by etcd, then <paramref name="beforeFailing"/> runs and the
    /// caller gets Unavailable instead of the reply.
    /// </summary>
    public void DropNextReply(string method, Func<Task>? beforeFailing = null) => _dropNext = (method, beforeFailing);

    /// <summary>
    /// The next call of <paramref name="method"/> is applied by etcd, then <paramref name="beforeReply"/> runs, and only
    /// then does the caller get the reply: another request's call lands in between.
    /// </summary>
    public void HoldNextReply(string method, Func<Task> beforeReply) => _holdNext = (method, beforeReply);

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        if (_dropNext is { } drop && drop.Method == context.Method.Name)
        {
            _dropNext = null;
            var applied = continuation(request, context);
            return Fail<TResponse>(DropAsync(applied.ResponseAsync, drop.BeforeFailing));
        }

        if (_holdNext is { } hold && hold.Method == context.Method.Name)
        {
            _holdNext = null;
            var held = continuation(request, context);
            return new AsyncUnaryCall<TResponse>(HoldAsync(held.ResponseAsync, hold.BeforeReply), held.ResponseHeadersAsync, held.GetStatus, held.GetTrailers, held.Dispose);
        }

        if (!Failing && FailingMethod != context.Method.Name)
        {
            return continuation(request, context);
        }

        return Fail<TResponse>(Task.FromException<TResponse>(Down()));
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        return Failing || FailingMethod == context.Method.Name ? throw Down() : continuation(request, context);
    }

    private static RpcException Down() => new(new Status(StatusCode.Unavailable, "etcd is down (simulated)"));

    private static async Task<TResponse> DropAsync<TResponse>(Task<TResponse> applied, Func<Task>? beforeFailing)
    {
        await applied;
        if (beforeFailing is not null)
        {
            await beforeFailing();
        }

        throw new RpcException(new Status(StatusCode.Unavailable, "the reply was lost (simulated)"));
    }

    private static async Task<TResponse> HoldAsync<TResponse>(Task<TResponse> applied, Func<Task> beforeReply)
    {
        var reply = await applied;
        await beforeReply();
        return reply;
    }

    private static AsyncUnaryCall<TResponse> Fail<TResponse>(Task<TResponse> response) =>
        new(response, Task.FromResult(new Metadata()), () => new Status(StatusCode.Unavailable, "simulated"), () => [], () => { });

    private void Count(IMethod method)
    {
        Interlocked.Increment(ref _calls);
        _byMethod.AddOrUpdate(method.Name, 1, static (_, n) => n + 1);
    }
}
