namespace EtcdSessionStore.Demo;

/// <summary>
/// The one reader of the shop's form posts. A body the shop cannot use is the client's mistake and gets 400 with a
/// problem, never a 500: a body that is not a readable form (a multipart body without a boundary or with broken
/// parts, a value ASP.NET Core's form reader refuses such as a percent-encoded NUL), or a field holding a control
/// character (every field of the shop is one line of text). A post without a form body reads as an empty form.
/// </summary>
internal static class ShopForms
{
    /// <summary>Reads and checks the form before the endpoint runs (an endpoint filter on every route of the shop).</summary>
    public static async ValueTask<object?> RejectMalformedAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var request = invocation.HttpContext.Request;
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            }
            catch (BadHttpRequestException ex)
            {
                return Results.Problem("The form body could not be read.", statusCode: ex.StatusCode); // e.g. 413 from Kestrel's body limit
            }
            catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or IOException
                                       && !request.HttpContext.RequestAborted.IsCancellationRequested)
            {
                return Malformed("The body is not a readable form (application/x-www-form-urlencoded or multipart/form-data).");
            }

            if (form.FirstOrDefault(f => f.Key.Any(char.IsControl) || f.Value.Any(v => v is not null && v.Any(char.IsControl))) is { Key: { } field })
            {
                return Malformed(field.Any(char.IsControl)
                    ? "A form field name contains a control character."
                    : $"Form field '{field}' contains a control character.");
            }
        }

        return await next(invocation);
    }

    /// <summary>The request's form, as <see cref="RejectMalformedAsync"/> read it; empty for a post without a form body.</summary>
    public static async Task<IFormCollection> ReadAsync(HttpRequest request) =>
        request.HasFormContentType ? await request.ReadFormAsync(request.HttpContext.RequestAborted) : FormCollection.Empty;

    private static IResult Malformed(string detail) => Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest);
}
