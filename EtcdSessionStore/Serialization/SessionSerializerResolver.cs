using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;

namespace Etcd.AspNetCore.Session.Serialization;

/// <summary>
/// Turns <see cref="EtcdSessionOptions.Serializer"/> into the serializer set: every registered serializer
/// reads, the configured one writes. Runs at start-up (from the options validator), once per options
/// instance, so that a bad name or type stops the app before it serves a request.
/// </summary>
internal sealed class SessionSerializerResolver
{
    private static readonly string Setting = EtcdSessionDefaults.ConfigurationSection + ":Serializer";
    private const string TypeNameMessage =
        "Finds and creates a serializer type named in the options with reflection. In a trimmed or native AOT app register the serializer with EtcdSessionOptions.AddSerializer and configure its name.";

    private static readonly Dictionary<string, Func<IServiceProvider, SessionSerializerOptions, ISessionSerializer>> BuiltIns =
        new(StringComparer.OrdinalIgnoreCase)
        {
            [JsonSessionSerializer.SerializerName] = (_, options) => new JsonSessionSerializer(options),
            [YamlSessionSerializer.SerializerName] = (_, options) => new YamlSessionSerializer(options),
            [BinarySessionSerializer.SerializerName] = (_, _) => new BinarySessionSerializer(),
        };

    private readonly IServiceProvider _services;
    private readonly Lock _gate = new();
    private (EtcdSessionOptions Options, SessionSerializerSet Set)? _resolved;

    public SessionSerializerResolver(IServiceProvider services) => _services = services;

    public static bool IsBuiltIn(string name) => BuiltIns.ContainsKey(name);

    /// <summary>The serializer set for <paramref name="options"/>.</summary>
    /// <exception cref="InvalidOperationException">The configured serializer cannot be resolved; the message says why and what is registered.</exception>
    public SessionSerializerSet Resolve(EtcdSessionOptions options)
    {
        lock (_gate)
        {
            if (_resolved is { } done && ReferenceEquals(done.Options, options))
            {
                return done.Set;
            }

            var set = Build(options);
            _resolved = (options, set);
            return set;
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification =
        "Reached only for a serializer configured by type name. In a trimmed app a type or constructor the trimmer removed fails " +
        "here at start-up, with a message that names the setting, never later; docs/aot.md says to use AddSerializer instead.")]
    private SessionSerializerSet Build(EtcdSessionOptions options)
    {
        var serializerOptions = new SessionSerializerOptions(options.SerializeOptions, options.DeserializeOptions);
        var registered = BuiltIns.Concat(options.CustomSerializers).ToList();
        var names = string.Join(", ", registered.Select(r => r.Key));
        var readers = new Dictionary<string, ISessionSerializer>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, factory) in registered)
        {
            var serializer = Create(() => factory(_services, serializerOptions), $"the serializer registered as '{name}'");
            if (!string.Equals(serializer.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid($"the serializer registered as '{name}' calls itself '{serializer.Name}'; register it under its own name");
            }

            readers[name] = serializer;
        }

        var configured = options.Serializer?.Trim() ?? "";
        if (readers.TryGetValue(configured, out var writer))
        {
            return new SessionSerializerSet(writer, readers.Values);
        }

        if (!configured.Contains('.', StringComparison.Ordinal) && !configured.Contains(',', StringComparison.Ordinal))
        {
            throw Invalid("no serializer is registered under that name");
        }

        // A constant false in a native AOT app, where the compiler drops the reflection path below.
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            throw Invalid("a serializer type name needs reflection, which a native AOT app does not have; register the serializer with EtcdSessionOptions.AddSerializer and configure its name");
        }

        writer = CreateFromTypeName(configured);
        return new SessionSerializerSet(writer, readers.Values);

        [RequiresUnreferencedCode(TypeNameMessage)]
        [RequiresDynamicCode(TypeNameMessage)]
        ISessionSerializer CreateFromTypeName(string typeName)
        {
            var type = LoadType(typeName);
            var created = Create(() => CreateFromType(type, serializerOptions), $"type '{type.FullName}'");
            if (readers.TryGetValue(created.Name, out var taken))
            {
                throw Invalid($"type '{type.FullName}' calls itself '{created.Name}', the name of the registered {taken.GetType().Name}; give it a name of its own");
            }

            return created;
        }

        InvalidOperationException Invalid(string why) =>
            new($"{Setting} '{options.Serializer}' is invalid: {why}. Registered serializers: {names}" + (RuntimeFeature.IsDynamicCodeSupported
                ? $"; or give the assembly-qualified name of a class that implements {nameof(ISessionSerializer)}, e.g. 'MyApp.Sessions.MySerializer, MyApp'."
                : "."));

        [RequiresUnreferencedCode(TypeNameMessage)]
        Type LoadType(string typeName)
        {
            Type? loaded;
            try
            {
                loaded = Type.GetType(typeName, throwOnError: true, ignoreCase: false);
            }
            catch (Exception ex) when (ex is TypeLoadException or FileNotFoundException or FileLoadException or BadImageFormatException or ArgumentException)
            {
                throw Invalid($"the type cannot be loaded ({ex.Message})");
            }

            if (loaded is null || !typeof(ISessionSerializer).IsAssignableFrom(loaded) || loaded.IsAbstract || loaded.IsInterface)
            {
                throw Invalid($"type '{loaded?.FullName}' is not a concrete class that implements {typeof(ISessionSerializer).FullName}");
            }

            return loaded;
        }

        ISessionSerializer Create(Func<ISessionSerializer?> create, string what)
        {
            ISessionSerializer? created;
            try
            {
                created = create();
            }
            catch (Exception ex)
            {
                // Whatever a user's constructor or factory throws becomes one start-up message naming the setting.
                var cause = ex is TargetInvocationException { InnerException: { } inner } ? inner : ex;
                throw Invalid($"creating {what} failed: {cause.Message}");
            }

            return created ?? throw Invalid($"creating {what} returned null");
        }
    }

    // The options object is passed only to a constructor that asks for it: ActivatorUtilities refuses
    // arguments that no constructor takes.
    [RequiresUnreferencedCode(TypeNameMessage)]
    [RequiresDynamicCode(TypeNameMessage)]
    private ISessionSerializer CreateFromType(Type type, SessionSerializerOptions options)
    {
        var wantsOptions = type.GetConstructors().Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(SessionSerializerOptions)));
        var instance = wantsOptions
            ? ActivatorUtilities.CreateInstance(_services, type, options)
            : ActivatorUtilities.CreateInstance(_services, type);
        return (ISessionSerializer)instance;
    }
}
