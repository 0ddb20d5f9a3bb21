using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>Counts the gRPC calls an etcd client makes, by method name (Range, Txn, LeaseGrant, ...).</summary>
public sealed class CountingInterceptor : Interceptor
{
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    /// <summary>The calls made since the last <see cref="Reset"/>, by method name.</summary>
    public IReadOnlyDictionary<string, int> Calls => new Dictionary<string, int>(_calls);

    public int Total => _calls.Values.Sum();

    public void Reset() => _calls.Clear();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        return continuation(request, context);
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        return continuation(request, context);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        return continuation(request, context);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        Count(context.Method);
        return continuation(context);
    }

    private void Count(IMethod method) => _calls.AddOrUpdate(method.Name, 1, static (_, n) => n + 1);
}
