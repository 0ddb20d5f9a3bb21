using dotnet_etcd.interfaces;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Etcd.AspNetCore.Session.Storage;

/// <summary>
/// The etcd members the store talks to, one client each, so that the store (not the gRPC balancer) chooses
/// where a call goes. A member whose call stalled or was refused is set aside and probed in the background;
/// calls go round-robin over the others until a probe answers. A frozen member (SIGSTOP, a stuck VM) keeps
/// its TCP connections open and would otherwise receive its share of calls, each hanging to its deadline.
/// </summary>
internal sealed partial class EtcdEndpointPool : IDisposable
{
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly EtcdEndpoint[] _endpoints;
    private readonly bool _ownsClients;
    private readonly TimeSpan _probeTimeout;
    private readonly RangeRequest _probe;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private int _next = -1;

    /// <param name="endpoints">One entry per member.</param>
    /// <param name="ownsClients">Dispose the clients with the pool (not when the app supplied them).</param>
    /// <param name="probeTimeout">How long a probe of a set-aside member may take.</param>
    /// <param name="probeKey">A key the store may read: the probe is a linearizable one-key Range, so it also needs a leader.</param>
    /// <param name="logger">Where set-aside and recovered members are logged.</param>
    public EtcdEndpointPool(IReadOnlyList<EtcdEndpoint> endpoints, bool ownsClients, TimeSpan probeTimeout, string probeKey, ILogger logger)
    {
        _endpoints = [.. endpoints];
        StreamEndpoints = [.. _endpoints.Where(e => e.Streams is not null)];
        _ownsClients = ownsClients;
        _probeTimeout = probeTimeout;
        _probe = new RangeRequest { Key = ByteString.CopyFromUtf8(probeKey), Limit = 1, KeysOnly = true };
        _logger = logger;
    }

    /// <summary>A pool of one client the store does not own (tests, or a client supplied by the app).</summary>
    public static EtcdEndpointPool Single(IEtcdClient client, ILogger logger) =>
        new([new EtcdEndpoint("etcd", client, null)], ownsClients: false, TimeSpan.FromSeconds(1), "", logger);

    /// <summary>The members that offer a channel for the store's own streams (none for a client the app supplied).</summary>
    public IReadOnlyList<EtcdEndpoint> StreamEndpoints { get; }

    /// <summary>
    /// The member for the next attempt: round-robin over members in good standing, never <paramref name="avoid"/>
    /// (the member the previous attempt failed on) when another one is available.
    /// </summary>
    public EtcdEndpoint Pick(EtcdEndpoint? avoid)
    {
        if (_endpoints.Length == 1)
        {
            return _endpoints[0];
        }

        var start = (uint)Interlocked.Increment(ref _next);
        EtcdEndpoint? fallback = null;
        for (var i = 0; i < _endpoints.Length; i++)
        {
            var endpoint = _endpoints[(start + i) % _endpoints.Length];
            if (endpoint == avoid)
            {
                continue;
            }

            if (!endpoint.IsSetAside)
            {
                return endpoint;
            }

            fallback ??= endpoint;
        }

        // Everything is set aside (etcd down?): keep trying anyway, calls are what tells us it is back.
        return fallback ?? avoid!;
    }

    /// <summary>A call on <paramref name="endpoint"/> stalled or was refused: set it aside until a probe answers.</summary>
    public void SetAside(EtcdEndpoint endpoint, string reason)
    {
        if (_endpoints.Length == 1 || !endpoint.TrySetAside())
        {
            return;
        }

        Log.MemberSetAside(_logger, endpoint.Name, reason);
        _ = ProbeUntilBackAsync(endpoint);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        if (_ownsClients)
        {
            foreach (var endpoint in _endpoints)
            {
                endpoint.Client.Dispose();
                if (endpoint.Streams is { IsValueCreated: true } streams)
                {
                    streams.Value.Dispose();
                }
            }
        }

        _stopping.Dispose();
    }

    private async Task ProbeUntilBackAsync(EtcdEndpoint endpoint)
    {
        var stopping = _stopping.Token;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(ProbeInterval, stopping).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                timeout.CancelAfter(_probeTimeout);
                try
                {
                    await EtcdGateway.ProbeAsync(endpoint, _probe, _probeTimeout, timeout.Token).ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.StatusCode is not (StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled))
                {
                    // It answered, if only to refuse (auth, permissions): it is not stuck.
                }
                catch (Exception ex) when (ex is RpcException or OperationCanceledException && !stopping.IsCancellationRequested)
                {
                    continue;
                }

                endpoint.Restore();
                Log.MemberRestored(_logger, endpoint.Name);
                return;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The app is stopping.
        }
        catch (ObjectDisposedException)
        {
            // The pool was disposed while probing.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4, EventName = "EtcdMemberSetAside", Level = LogLevel.Warning,
            Message = "etcd member {Member} is set aside ({Reason}); calls go to the other members until it answers a probe.")]
        public static partial void MemberSetAside(ILogger logger, string member, string reason);

        [LoggerMessage(EventId = 5, EventName = "EtcdMemberRestored", Level = LogLevel.Information,
            Message = "etcd member {Member} answers again and takes calls.")]
        public static partial void MemberRestored(ILogger logger, string member);
    }
}
