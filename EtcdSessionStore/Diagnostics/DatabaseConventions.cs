using System.Diagnostics;
using System.Globalization;

namespace Etcd.AspNetCore.Session.Diagnostics;

/// <summary>
/// OpenTelemetry's semantic conventions for database clients, applied to etcd calls: the same attributes on the
/// <c>db.client.operation.duration</c> histogram and on each call's client span (docs/observability.md).
/// </summary>
internal static class DatabaseConventions
{
    public const string OperationDuration = "db.client.operation.duration";
    public const string SystemName = "db.system.name";
    public const string OperationName = "db.operation.name";
    public const string ResponseStatusCode = "db.response.status_code";
    public const string ErrorType = "error.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";

    /// <summary>The value of <c>db.system.name</c>.</summary>
    public const string Etcd = "etcd";

    /// <summary>The <c>error.type</c> of a call that the caller cancelled.</summary>
    public const string Cancelled = "cancelled";

    public static TagList Tags(string operation, string? errorType, string? serverAddress, int? serverPort, string? statusCode)
    {
        var tags = new TagList
        {
            { SystemName, Etcd },
            { OperationName, operation },
        };
        if (serverAddress is not null)
        {
            tags.Add(ServerAddress, serverAddress);
            tags.Add(ServerPort, serverPort);
        }

        if (errorType is not null)
        {
            tags.Add(ErrorType, errorType);
        }

        if (statusCode is not null)
        {
            tags.Add(ResponseStatusCode, statusCode);
        }

        return tags;
    }

    /// <summary>Starts the client span of one etcd call, named after the operation as the conventions ask.</summary>
    public static Activity? StartCall(ActivitySource source, string operation)
    {
        var activity = source.StartActivity(operation, ActivityKind.Client);
        activity?.SetTag(SystemName, Etcd);
        activity?.SetTag(OperationName, operation);
        return activity;
    }

    /// <summary>The server, error and status attributes, once the call is over.</summary>
    public static void Complete(Activity? activity, string? errorType, string? serverAddress, int? serverPort, string? statusCode, string? description)
    {
        if (activity is null)
        {
            return;
        }

        if (serverAddress is not null)
        {
            activity.SetTag(ServerAddress, serverAddress);
            activity.SetTag(ServerPort, serverPort);
        }

        if (errorType is not null)
        {
            activity.SetTag(ErrorType, errorType);
            activity.SetStatus(ActivityStatusCode.Error, description);
        }

        if (statusCode is not null)
        {
            activity.SetTag(ResponseStatusCode, statusCode);
        }
    }

    /// <summary>The numeric gRPC status code behind a failure, as a string (the conventions' form), if there is one.</summary>
    public static string? StatusCodeOf(Exception? exception) =>
        exception is Grpc.Core.RpcException rpc ? ((int)rpc.StatusCode).ToString(CultureInfo.InvariantCulture) : null;
}
