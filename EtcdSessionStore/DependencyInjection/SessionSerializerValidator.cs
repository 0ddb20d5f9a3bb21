using Etcd.AspNetCore.Session.Serialization;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.DependencyInjection;

/// <summary>Start-up check that the configured serializer resolves (and every registered one can be created).</summary>
internal sealed class SessionSerializerValidator : IValidateOptions<EtcdSessionOptions>
{
    private readonly SessionSerializerResolver _resolver;

    public SessionSerializerValidator(SessionSerializerResolver resolver) => _resolver = resolver;

    public ValidateOptionsResult Validate(string? name, EtcdSessionOptions options)
    {
        try
        {
            _resolver.Resolve(options);
            return ValidateOptionsResult.Success;
        }
        catch (InvalidOperationException ex)
        {
            return ValidateOptionsResult.Fail(ex.Message);
        }
    }
}
