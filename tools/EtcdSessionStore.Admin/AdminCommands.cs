using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Admin;

/// <summary>
/// The operator's tool: <c>count</c>, <c>list</c>, <c>show &lt;id&gt;</c>, <c>revoke &lt;id&gt;</c>,
/// <c>revoke-user &lt;name&gt;</c>, <c>stats</c>. It reads the app's own configuration keys (the
/// <c>EtcdSession</c> section) and prints only non-secret session ids: never a secret key.
/// </summary>
internal static class AdminCommands
{
    public const int Ok = 0;
    public const int NotFound = 1;
    public const int Usage = 2;
    public const int Failed = 3;

    public const string Help = """
        Usage: EtcdSessionStore.Admin <command> [options] [--EtcdSession:Key=value ...]

        Commands:
          count                 number of stored sessions
          list                  sessions, one per line (non-secret ids only); --page-size N (default 50), --after TOKEN
          show <id>             one session's header and decoded items
          revoke <id>           destroy one session
          revoke-user <name>    destroy every session bound to a user, and its sign-in tickets in etcd
          stats                 sessions, user-index entries, leases, etcd db size

        Configuration, weakest first: appsettings.json in the current directory (or --config FILE),
        environment variables (EtcdSession__Endpoints, EtcdSession__KeyPrefix, ...), then
        --EtcdSession:Endpoints=http://127.0.0.1:2379 style arguments.
        """;

    /// <summary>Runs one command; the return value is the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        AdminArguments arguments;
        try
        {
            arguments = AdminArguments.Parse(args);
        }
        catch (FormatException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return Usage;
        }

        if (arguments.Command is "help" or "--help" or "-h")
        {
            await output.WriteLineAsync(Help);
            return Ok;
        }

        ServiceProvider services;
        try
        {
            services = BuildServices(arguments);
        }
        catch (FileNotFoundException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return Usage;
        }

        await using var disposeServices = services;
        try
        {
            var catalog = new SessionCatalog(services, output);
            return arguments.Command switch
            {
                "count" => await catalog.CountAsync(cancellationToken),
                "list" => await catalog.ListAsync(arguments.PageSize, arguments.After, cancellationToken),
                "show" when arguments.Operand is { } id => await catalog.ShowAsync(id, cancellationToken),
                "revoke" when arguments.Operand is { } id => await catalog.RevokeAsync(id, cancellationToken),
                "revoke-user" when arguments.Operand is { } user => await catalog.RevokeUserAsync(user, cancellationToken),
                "stats" => await catalog.StatsAsync(cancellationToken),
                _ => await UsageAsync(error, arguments),
            };
        }
        catch (OptionsValidationException ex)
        {
            await error.WriteLineAsync("Invalid configuration: " + string.Join(" ", ex.Failures));
            return Usage;
        }
        catch (EtcdSessionException ex)
        {
            await error.WriteLineAsync($"etcd failed ({ex.Kind}): {ex.Message}");
            return Failed;
        }
    }

    private static async Task<int> UsageAsync(TextWriter error, AdminArguments arguments)
    {
        await error.WriteLineAsync($"Unknown command or missing operand: '{string.Join(' ', arguments.Operands)}'.");
        await error.WriteLineAsync(Help);
        return Usage;
    }

    private static ServiceProvider BuildServices(AdminArguments arguments)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.GetFullPath(arguments.ConfigFile ?? "appsettings.json"), optional: arguments.ConfigFile is null)
            .AddEnvironmentVariables()
            .AddCommandLine([.. arguments.ConfigurationOverrides])
            .Build();
        var section = configuration.GetSection(EtcdSessionDefaults.ConfigurationSection);
        return new ServiceCollection()
            .AddEtcdSession(section.Bind)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}
