using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>Counts the unary etcd calls a client makes and, while <see cref="Failing"/> is set, fails them as an unreachable etcd would.</summary>
public sealed class EtcdCallInterceptor : Interceptor
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public bool Failing { get; set; }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Interlocked.Increment(ref _calls);
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
        Interlocked.Increment(ref _calls);
        return Failing ? throw new RpcException(new Status(StatusCode.Unavailable, "etcd is down (simulated)")) : continuation(request, context);
    }
}
