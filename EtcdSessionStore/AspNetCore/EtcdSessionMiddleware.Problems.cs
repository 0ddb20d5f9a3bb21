using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.AspNetCore;

// The error answers: problem details, through the app's IProblemDetailsService when it registered one.
internal sealed partial class EtcdSessionMiddleware
{
    /// <summary>
    /// Answers a session operation that failed before the response started (the middleware's commit, or one the endpoint
    /// or the sign-out made) with problem details: 409 for a conflict, 413 for a session too large, else 503.
    /// </summary>
    private async Task WriteCommitFailureAsync(HttpContext context, RequestState request, EtcdSessionException failure)
    {
        request.AnsweringWithError = true;
        context.Response.Clear();
        if (failure.Kind != EtcdSessionErrorKind.Conflict)
        {
            // A rotation earlier in the request is stored: the client needs the new key even though the rest failed.
            await request.WriteCookieAsync().ConfigureAwait(false);
        }

        // On a conflict the cookie is left alone: another request rotated, destroyed or signed out the session, and a
        // cookie sent now (even for a rotation this request stored) could bring back one it has ended.
        var (status, title, detail) = failure.Kind switch
        {
            EtcdSessionErrorKind.Conflict => (StatusCodes.Status409Conflict, "The session changed while this request ran.",
                "The changes this request made to the session were not saved, because the session was changed, rotated or ended by another request. Reload and try again."),
            EtcdSessionErrorKind.TooLarge => (StatusCodes.Status413PayloadTooLarge, "The session would be too large.",
                "The changes this request made to the session were not saved: the session would exceed the store's size limit (MaxSessionBytes)."),
            _ => (StatusCodes.Status503ServiceUnavailable, "The session could not be saved.",
                "The changes this request made to the session were not saved. Try again shortly."),
        };
        Log.CommitFailed(_logger, request.Session.IsAvailable ? request.Session.Id : "(unavailable)", failure.Kind, status, failure);
        await WriteProblemAsync(context, status, title, detail).ConfigureAwait(false);
    }

    /// <summary>A problem details answer, through the app's <see cref="IProblemDetailsService"/> when it registered one.</summary>
    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-cache,no-store";
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = status switch
            {
                StatusCodes.Status409Conflict => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
                StatusCodes.Status413PayloadTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
                _ => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            },
        };
        if (context.RequestServices?.GetService<IProblemDetailsService>() is { } service
            && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false))
        {
            return;
        }

        await context.Response.WriteAsJsonAsync(problem, ProblemJson.Default.ProblemDetails, "application/problem+json", context.RequestAborted).ConfigureAwait(false);
    }

    // Source-generated (no reflection, so native AOT apps can use it), with the web defaults ASP.NET Core writes problems with.
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(ProblemDetails))]
    private sealed partial class ProblemJson : JsonSerializerContext;
}
