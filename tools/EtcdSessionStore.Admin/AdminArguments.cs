namespace Etcd.AspNetCore.Session.Admin;

/// <summary>
/// The command line: a command and its operands, the tool's own options (<c>--page-size</c>, <c>--after</c>,
/// <c>--config</c>), and configuration overrides (<c>--EtcdSession:Endpoints=...</c>) passed on to
/// <see cref="Microsoft.Extensions.Configuration.IConfiguration"/> as the last and strongest source.
/// </summary>
internal sealed class AdminArguments
{
    public List<string> Operands { get; } = [];

    public List<string> ConfigurationOverrides { get; } = [];

    public int PageSize { get; private set; } = 50;

    public string? After { get; private set; }

    public string? ConfigFile { get; private set; }

    public string Command => Operands.Count > 0 ? Operands[0] : "help";

    public string? Operand => Operands.Count > 1 ? Operands[1] : null;

    /// <exception cref="FormatException">An option lacks its value or has a bad one.</exception>
    public static AdminArguments Parse(IReadOnlyList<string> args)
    {
        var parsed = new AdminArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--page-size":
                    var text = ValueAfter(args, ref i, arg);
                    parsed.PageSize = int.TryParse(text, out var size) && size is >= 1 and <= 1000
                        ? size
                        : throw new FormatException($"--page-size '{text}' is invalid: give a number from 1 to 1000.");
                    break;
                case "--after":
                    parsed.After = ValueAfter(args, ref i, arg);
                    break;
                case "--config":
                    parsed.ConfigFile = ValueAfter(args, ref i, arg);
                    break;
                default:
                    if (arg.StartsWith("--", StringComparison.Ordinal))
                    {
                        parsed.ConfigurationOverrides.Add(arg);
                    }
                    else
                    {
                        parsed.Operands.Add(arg);
                    }

                    break;
            }
        }

        return parsed;
    }

    private static string ValueAfter(IReadOnlyList<string> args, ref int i, string option) =>
        ++i < args.Count ? args[i] : throw new FormatException($"{option} needs a value.");
}
