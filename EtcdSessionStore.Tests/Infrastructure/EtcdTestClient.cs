using dotnet_etcd;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Etcd.AspNetCore.Session.Tests.Infrastructure;

/// <summary>The one place the tests build an etcd client of their own: plain-text gRPC to test members on loopback.</summary>
public static class EtcdTestClient
{
    /// <summary>A client of <paramref name="endpoints"/> (the run's etcd unless given) whose unary calls pass through <paramref name="interceptors"/>.</summary>
    public static EtcdClient Create(string? endpoints = null, params Interceptor[] interceptors) =>
        new(endpoints ?? EtcdFixture.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure, interceptors: interceptors);
}
