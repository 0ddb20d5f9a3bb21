using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>Counts the unary etcd calls a client makes and, while <see cref="Failing"/> is set, fails them as an unreachable etcd would.</summary>
public sealed class EtcdCallInterceptor : Interceptor
{
    private readonly ConcurrentDictionary<string, int> _byMethod = new(StringComparer.Ordinal);
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The calls since the start or the last <see cref="Reset"/>, by gRPC method name (Range, Txn, LeaseGrant, ...).</summary>
    public IReadOnlyDictionary<string, int> ByMethod => new Dictionary<string, int>(_byMethod);

    public void Reset()
    {
        _byMethod.Clear();
        Interlocked.Exchange(ref _calls, 0);
    }

    public bool Failing { get; set; }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        if (!Failing)
        {
            return continuation(request, context);
        }

        var failure = new RpcException(new Status(StatusCode.Unavailable, "etcd is down (simulated)"));
        return new AsyncUnaryCall<TResponse>(Task.FromException<TResponse>(failure), Task.FromResult(new Metadata()),
            () => failure.Status, () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        return Failing ? throw new RpcException(new Status(StatusCode.Unavailable, "etcd is down (simulated)")) : continuation(request, context);
    }

    private void Count(IMethod method)
    {
        Interlocked.Increment(ref _calls);
        _byMethod.AddOrUpdate(method.Name, 1, static (_, n) => n + 1);
    }
}
