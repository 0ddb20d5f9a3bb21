using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Etcd.AspNetCore.Session.Admin;

/// <summary>
/// The operator's tool, on System.CommandLine: <c>count</c>, <c>list</c>, <c>show &lt;id&gt;</c>,
/// <c>revoke &lt;id&gt;</c>, <c>revoke-user &lt;name&gt;</c>, <c>stats</c>, each with its own help, in text or
/// JSON (<c>--output json</c>). It reads the app's own configuration keys (the <c>EtcdSession</c> section) and
/// prints only non-secret session ids: never a secret key. It uses only the library's public API
/// (<see cref="EtcdSessionDirectory"/>). Exit codes are documented in docs/admin-tool.md.
/// </summary>
internal static partial class AdminCommands
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>No session has that id.</summary>
    public const int NotFound = 1;

    /// <summary>A bad command line or configuration.</summary>
    public const int Usage = 2;

    /// <summary>etcd failed, or the session kept changing.</summary>
    public const int Failed = 3;

    private const string ConfigurationHelp = """
        Configuration, weakest first: appsettings.json in the current directory (or --config FILE), environment
        variables (EtcdSession__Endpoints, EtcdSession__KeyPrefix, ...), then arguments such as
        --EtcdSession:Endpoints=http://127.0.0.1:2379 (any key of the app's EtcdSession section).
        Exit codes: 0 done, 1 no session with that id, 2 bad command line or configuration, 3 etcd failed.
        """;

    private static readonly Option<string?> ConfigOption = new("--config")
    {
        Description = "An appsettings.json-style file to read the EtcdSession section from (default: appsettings.json in the current directory, if any).",
        HelpName = "file",
        Recursive = true,
    };

    private static readonly Option<string> OutputOption = new Option<string>("--output", "-o")
    {
        Description = "text for people, json for scripts.",
        DefaultValueFactory = _ => "text",
        HelpName = "text|json",
        Recursive = true,
    }.AcceptOnlyFromAmong("text", "json");

    /// <summary>Runs one command line; the return value is the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        // --Section:Key=value arguments are configuration (as in the app itself), not options of the tool.
        var overrides = args.Where(IsConfigurationOverride).ToList();
        var parsed = Build(overrides).Parse(args.Where(a => !IsConfigurationOverride(a)).ToArray());
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                await error.WriteLineAsync(parseError.Message);
            }

            await error.WriteLineAsync($"Run '{CommandPath(parsed.CommandResult.Command)} --help' for usage.");
            return Usage;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    /// <summary>The command tree (also used by the tests, for help and completion).</summary>
    /// <param name="overrides">The <c>--Section:Key=value</c> arguments, the strongest configuration source.</param>
    public static RootCommand Build(IReadOnlyList<string>? overrides = null)
    {
        IReadOnlyList<string> configuration = overrides ?? [];
        var root = new RootCommand("Counts, lists, inspects and revokes the ASP.NET Core sessions an app keeps in etcd.\n\n" + ConfigurationHelp);
        root.Options.Add(ConfigOption);
        root.Options.Add(OutputOption);

        var count = Leaf("count", "Prints the number of stored sessions.");
        count.SetAction((result, ct) => RunAsync(result, configuration, async (directory, writer) => { await writer.CountAsync(await directory.CountAsync(ct)); return Ok; }));

        var pageSize = new Option<int>("--page-size")
        {
            Description = $"Sessions per page, from 1 to {EtcdSessionDirectory.MaxPageSize}.",
            DefaultValueFactory = _ => 50,
            HelpName = "n",
        };
        pageSize.Validators.Add(result =>
        {
            // A value that is no number at all gets System.CommandLine's own message.
            if (result.Tokens is [var token] && int.TryParse(token.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) && (size < 1 || size > EtcdSessionDirectory.MaxPageSize))
            {
                result.AddError($"--page-size {size} is out of range: give a number from 1 to {EtcdSessionDirectory.MaxPageSize}.");
            }
        });
        var after = new Option<string?>("--after")
        {
            Description = "Start after this token: the one the previous page ended with ('more: --after TOKEN', or 'next' in JSON).",
            HelpName = "token",
        };
        after.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } token && !PageToken().IsMatch(token))
            {
                result.AddError($"--after '{token}' is not a page token: use the token a previous 'list' printed.");
            }
        });
        var list = Leaf("list", "Lists sessions, one per line: non-secret id, created, expires, size, user.");
        list.Options.Add(pageSize);
        list.Options.Add(after);
        list.SetAction((result, ct) => RunAsync(result, configuration, async (directory, writer) =>
        {
            await writer.PageAsync(await directory.ListAllAsync(result.GetValue(pageSize), result.GetValue(after), ct));
            return Ok;
        }));

        var showId = SessionIdArgument();
        var show = Leaf("show", "Prints one session's header and decoded items (never its secret key).");
        show.Arguments.Add(showId);
        show.SetAction((result, ct) => RunAsync(result, configuration, async (directory, writer) =>
        {
            var id = result.GetValue(showId)!;
            var details = await directory.FindAsync(id, ct);
            await writer.DetailsAsync(id, details);
            return details is null ? NotFound : Ok;
        }));

        var revokeId = SessionIdArgument();
        var revoke = Leaf("revoke", "Destroys one session and its user-index entry, in one transaction.");
        revoke.Arguments.Add(revokeId);
        revoke.SetAction((result, ct) => RunAsync(result, configuration, async (directory, writer) =>
        {
            var id = result.GetValue(revokeId)!;
            var revoked = await directory.RevokeByIdAsync(id, ct);
            await writer.RevokedAsync(id, revoked);
            return revoked ? Ok : NotFound;
        }));

        var userName = new Argument<string>("user") { Description = "The user name the app signed the sessions in with." };
        userName.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError("The user name is empty.");
            }
        });
        var revokeUser = Leaf("revoke-user", "Destroys every session bound to a user, and its sign-in tickets kept in etcd.");
        revokeUser.Arguments.Add(userName);
        revokeUser.SetAction((result, ct) => RunAsync(result, configuration, async (directory, writer) =>
        {
            var user = result.GetValue(userName)!;
            await writer.RevokedUserAsync(user, await directory.RevokeAllAsync(user, cancellationToken: ct));
            return Ok;
        }));

        var stats = Leaf("stats", "Prints sessions, sessions bound to a user, leases, etcd version, db size and revision.");
        stats.SetAction((result, ct) => RunAsync(result, configuration, async (directory, writer) => { await writer.StatsAsync(await directory.GetStatisticsAsync(ct)); return Ok; }));

        foreach (var command in new[] { count, list, show, revoke, revokeUser, stats })
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    private static Command Leaf(string name, string description) => new(name, description);

    private static Argument<string> SessionIdArgument()
    {
        var id = new Argument<string>("id") { Description = "The session's non-secret id: 32 hex digits, as 'list' prints it." };
        id.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } value && !SessionId().IsMatch(value))
            {
                result.AddError($"'{value}' is not a session id: expected the 32 hex digits that 'list' prints (never the secret cookie value).");
            }
        });
        return id;
    }

    private static bool IsConfigurationOverride(string arg) => ConfigurationOverride().IsMatch(arg);

    private static async Task<int> RunAsync(ParseResult result, IReadOnlyList<string> overrides, Func<EtcdSessionDirectory, AdminOutput, Task<int>> command)
    {
        var output = result.InvocationConfiguration.Output;
        var error = result.InvocationConfiguration.Error;
        var writer = new AdminOutput(output, result.GetValue(OutputOption) == "json" ? AdminOutputFormat.Json : AdminOutputFormat.Text);
        ServiceProvider services;
        try
        {
            services = BuildServices(result.GetValue(ConfigOption), overrides);
        }
        catch (FileNotFoundException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return Usage;
        }

        await using var disposeServices = services;
        try
        {
            return await command(services.GetRequiredService<EtcdSessionDirectory>(), writer);
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

    private static ServiceProvider BuildServices(string? configFile, IReadOnlyList<string> overrides)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.GetFullPath(configFile ?? "appsettings.json"), optional: configFile is null)
            .AddEnvironmentVariables()
            .AddCommandLine([.. overrides])
            .Build();
        var section = configuration.GetSection(EtcdSessionDefaults.ConfigurationSection);
        return new ServiceCollection()
            .AddEtcdSession(section.Bind)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    private static string CommandPath(Command command) =>
        command is RootCommand ? "EtcdSessionStore.Admin" : $"EtcdSessionStore.Admin {command.Name}";

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex SessionId();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,100}$")]
    private static partial Regex PageToken();

    [GeneratedRegex("^--[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_]+)+=.*$", RegexOptions.Singleline)]
    private static partial Regex ConfigurationOverride();
}
