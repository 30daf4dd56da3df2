using Platform.Common.Flags;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Cli;

/// <summary>
/// Finds the command among the arguments and parses its flags the way rkt's cobra did: global flags
/// anywhere, flags interspersed with positional arguments, <c>--</c> ends flags. Exit codes are rkt's:
/// 0 on success, 254 on any failure (usage errors included).
/// </summary>
internal sealed class CommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailure = 254;

    private readonly IReadOnlyList<ICommand> _commands;

    public CommandLine(IReadOnlyList<ICommand> commands)
    {
        _commands = commands;
    }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TextReader stdin, CancellationToken cancellationToken)
    {
        (ICommand? command, List<string> rest) = Select(args);
        if (command is null)
        {
            if (rest.Count == 0 || rest.Contains("--help") || rest.Contains("-h") || rest.FirstOrDefault() == "help")
            {
                stdout.Write(Help());
                return rest.Count == 0 ? ExitFailure : ExitOk;
            }

            string unknown = rest.FirstOrDefault(a => !a.StartsWith('-')) ?? string.Join(' ', rest);
            stderr.WriteLine($"rkt: unknown command \"{unknown}\"");
            stderr.Write(Help());
            return ExitFailure;
        }

        var flags = new FlagSet("rkt " + command.Name, environmentPrefix: null);
        var globals = new GlobalOptions(flags);
        command.DefineFlags(flags);
        List<string> positional;
        try
        {
            bool help;
            if (command is IRawArgumentsCommand)
            {
                IReadOnlyList<string> own = command is IWholeValueFlags whole ? TakeWholeValues(flags, rest, whole) : rest;
                FlagParseResult parsed = flags.Parse(own, new Dictionary<string, string>());
                (positional, help) = (parsed.Positional.ToList(), parsed.HelpRequested);
            }
            else
            {
                (positional, help) = ParseInterspersed(flags, rest);
            }

            if (help)
            {
                stdout.WriteLine($"Usage: rkt {command.Name} {command.Usage}");
                stdout.WriteLine(command.Summary);
                stdout.Write(flags.Usage());
                return ExitOk;
            }

            _ = globals.Insecure; // validate early
        }
        catch (Exception e) when (e is FlagParseException or FormatException)
        {
            stderr.WriteLine($"{command.Name}: {e.Message}");
            stderr.WriteLine($"Usage: rkt {command.Name} {command.Usage}");
            return ExitFailure;
        }

        var context = new CommandContext(command.Name, globals, stdout, stderr, stdin) { Time = Time };
        try
        {
            return await command.RunAsync(context, positional, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CommandException or FetchException or InvalidImageException or SignatureException
                                      or KeyNotFoundException or IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            context.Error(Describe(e));
            if (globals.Debug)
            {
                stderr.WriteLine(e.ToString());
            }

            return ExitFailure;
        }
    }

    /// <summary>
    /// Removes the occurrences of <paramref name="whole"/>'s flags (<c>--name=V</c>, <c>--name V</c>, one or two
    /// dashes) before the first positional argument or <c>--</c>, giving each to the command whole; returns
    /// the rest for the flag set. Values of other flags are skipped over, so a value is never taken for the
    /// first positional argument.
    /// </summary>
    /// <exception cref="FlagParseException">A whole-value flag without its value.</exception>
    internal static List<string> TakeWholeValues(FlagSet flags, IReadOnlyList<string> args, IWholeValueFlags whole)
    {
        var rest = new List<string>(args.Count);
        int i = 0;
        for (; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--" || arg.Length < 2 || arg[0] != '-')
            {
                break;
            }

            string body = arg.TrimStart('-');
            int eq = body.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? body : body[..eq];
            if (whole.WholeValueFlagNames.Contains(name))
            {
                if (eq >= 0)
                {
                    whole.AddWholeValue(name, body[(eq + 1)..]);
                }
                else if (i + 1 < args.Count)
                {
                    whole.AddWholeValue(name, args[++i]);
                }
                else
                {
                    throw new FlagParseException($"flag needs an argument: -{name}");
                }

                continue;
            }

            rest.Add(arg);
            if (eq < 0 && i + 1 < args.Count && flags.Flags.FirstOrDefault(f => f.Name == name) is { IsBoolean: false })
            {
                rest.Add(args[++i]); // its value
            }
        }

        rest.AddRange(args.Skip(i));
        return rest;
    }

    /// <summary>rkt's nested error style: the message, then each cause on its own line.</summary>
    private static string Describe(Exception e)
    {
        string text = e.Message;
        for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!text.Contains(inner.Message, StringComparison.Ordinal))
            {
                text += "\n  └─" + inner.Message;
            }
        }

        return text;
    }

    /// <summary>The longest command whose words are the first non-flag arguments.</summary>
    private (ICommand? Command, List<string> Remaining) Select(IReadOnlyList<string> args)
    {
        var words = new List<(int Index, string Word)>();
        for (int i = 0; i < args.Count && words.Count < 2; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                break;
            }

            if (arg.StartsWith('-'))
            {
                string name = arg.TrimStart('-');
                if (!name.Contains('=', StringComparison.Ordinal) && GlobalOptions.ValueFlags.Contains(name))
                {
                    i++; // its value
                }

                continue;
            }

            words.Add((i, arg));
        }

        foreach (int count in (int[])[2, 1])
        {
            if (words.Count < count)
            {
                continue;
            }

            string name = string.Join(' ', words.Take(count).Select(w => w.Word));
            if (_commands.FirstOrDefault(c => c.Name == name) is { } command)
            {
                var skip = words.Take(count).Select(w => w.Index).ToHashSet();
                return (command, args.Where((_, i) => !skip.Contains(i)).ToList());
            }
        }

        return (null, args.ToList());
    }

    private static (List<string> Positional, bool Help) ParseInterspersed(FlagSet flags, List<string> args)
    {
        int dashes = args.IndexOf("--");
        List<string> before = dashes < 0 ? args : args[..dashes];
        var positional = new List<string>();
        bool help = false;
        IReadOnlyList<string> remaining = before;
        while (true)
        {
            FlagParseResult result = flags.Parse(remaining, new Dictionary<string, string>());
            help |= result.HelpRequested;
            if (result.Positional.Count == 0)
            {
                break;
            }

            positional.Add(result.Positional[0]);
            remaining = result.Positional.Skip(1).ToList();
        }

        if (dashes >= 0)
        {
            positional.AddRange(args.Skip(dashes + 1));
        }

        return (positional, help);
    }

    private string Help()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("rkt - the app container runtime");
        text.AppendLine();
        text.AppendLine("Usage: rkt [global flags] <command> [command flags] [args]");
        text.AppendLine();
        text.AppendLine("Commands:");
        foreach (ICommand command in _commands)
        {
            text.AppendLine($"  {command.Name,-20} {command.Summary}");
        }

        text.AppendLine();
        text.AppendLine("Global flags: --dir, --insecure-options, --debug, --trust-keys-from-https, --user-config, --local-config, --system-config");
        return text.ToString();
    }
}
