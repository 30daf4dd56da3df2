using System.Globalization;
using System.Text;

namespace Platform.Common.Flags;

/// <summary>
/// Command-line flags in the style of the Go tools Platform replaces (etcd, flanneld, rkt):
/// <c>--name=value</c>, <c>--name value</c>, single-dash forms, boolean <c>--flag</c> and
/// <c>--flag=false</c>, <c>--</c> to end flags. Parsing stops at the first positional argument,
/// as Go's <c>flag</c> package does, so subcommands can parse the rest.
/// </summary>
/// <remarks>
/// Every flag can also come from an environment variable named <c>PREFIX_FLAG_NAME</c>
/// (<c>--initial-cluster-token</c> reads <c>ETCD_INITIAL_CLUSTER_TOKEN</c>). The command line wins;
/// a variable it shadows, and a <c>PREFIX_*</c> variable that matches no flag, produce a warning.
/// </remarks>
public sealed class FlagSet
{
    private readonly Dictionary<string, Flag> _flags = new(StringComparer.Ordinal);
    private readonly List<Flag> _ordered = [];
    private readonly string? _environmentPrefix;

    /// <param name="programName">Shown in usage and error messages.</param>
    /// <param name="environmentPrefix">E.g. <c>ETCD</c>; null for flags without environment fallbacks.</param>
    public FlagSet(string programName, string? environmentPrefix)
    {
        ProgramName = programName;
        _environmentPrefix = environmentPrefix;
    }

    public string ProgramName { get; }

    /// <summary>Declared flags in declaration order.</summary>
    public IReadOnlyList<Flag> Flags => _ordered;

    public Flag<string> String(string name, string defaultValue, string usage) =>
        Add(name, defaultValue, usage, static (s, _) => (s, null), static v => v);

    public Flag<bool> Bool(string name, bool defaultValue, string usage) =>
        Add(
            name,
            defaultValue,
            usage,
            static (s, _) => s.ToLowerInvariant() switch
            {
                "1" or "t" or "true" => (true, null),
                "0" or "f" or "false" => (false, null),
                _ => (false, "parse error"),
            },
            static v => v ? "true" : "false",
            isBoolean: true);

    public Flag<int> Int(string name, int defaultValue, string usage) =>
        Add(
            name,
            defaultValue,
            usage,
            static (s, _) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? (v, null) : (0, "parse error"),
            static v => v.ToString(CultureInfo.InvariantCulture));

    public Flag<long> Int64(string name, long defaultValue, string usage) =>
        Add(
            name,
            defaultValue,
            usage,
            static (s, _) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? (v, null) : (0, "parse error"),
            static v => v.ToString(CultureInfo.InvariantCulture));

    public Flag<ulong> UInt64(string name, ulong defaultValue, string usage) =>
        Add(
            name,
            defaultValue,
            usage,
            static (s, _) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? (v, null) : (0UL, "parse error"),
            static v => v.ToString(CultureInfo.InvariantCulture));

    /// <summary>A Go-syntax duration (<c>100ms</c>, <c>1h</c>); a bad one is a "parse error", as Go's flag package says.</summary>
    public Flag<TimeSpan> Duration(string name, TimeSpan defaultValue, string usage) =>
        Add(
            name,
            defaultValue,
            usage,
            static (s, _) => GoDuration.TryParse(s, out TimeSpan v, out string? _) ? (v, null) : (TimeSpan.Zero, "parse error"),
            GoDuration.Format);

    /// <summary>
    /// A list: comma-separated values, and the flag may be repeated (<c>--iface a --iface b,c</c>).
    /// The environment form is comma-separated.
    /// </summary>
    public Flag<IReadOnlyList<string>> StringList(string name, IReadOnlyList<string> defaultValue, string usage) =>
        Add(
            name,
            defaultValue,
            usage,
            static (s, previous) =>
            {
                var values = new List<string>(previous ?? []);
                values.AddRange(s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                return (values, null);
            },
            static v => string.Join(',', v),
            accumulates: true);

    /// <summary>The environment variable that feeds <paramref name="flagName"/>, or null without a prefix.</summary>
    public string? EnvironmentVariableFor(string flagName) =>
        _environmentPrefix is null
            ? null
            : _environmentPrefix + "_" + flagName.ToUpperInvariant().Replace('-', '_').Replace('.', '_');

    /// <summary>
    /// Parses <paramref name="args"/>, then fills unset flags from <paramref name="environment"/>
    /// (the process environment when null).
    /// </summary>
    /// <exception cref="FlagParseException">An unknown flag, a missing value or an unparsable value.</exception>
    public FlagParseResult Parse(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var warnings = new List<string>();
        bool help = false;
        int i = 0;
        for (; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                i++;
                break;
            }

            if (arg.Length < 2 || arg[0] != '-')
            {
                break;
            }

            string body = arg[0] == '-' && arg[1] == '-' ? arg[2..] : arg[1..];
            if (body.Length == 0 || body[0] == '-' || body[0] == '=')
            {
                throw new FlagParseException($"bad flag syntax: {arg}");
            }

            string name = body;
            string? value = null;
            int equals = body.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                name = body[..equals];
                value = body[(equals + 1)..];
            }

            if (name is "h" or "help")
            {
                help = true;
                continue;
            }

            if (!_flags.TryGetValue(name, out Flag? flag))
            {
                throw new FlagParseException($"flag provided but not defined: -{name}");
            }

            if (value is null)
            {
                if (flag.IsBoolean)
                {
                    value = "true";
                }
                else if (i + 1 < args.Count)
                {
                    value = args[++i];
                }
                else
                {
                    throw new FlagParseException($"flag needs an argument: -{name}");
                }
            }

            string? error = flag.Set(value, FlagSource.CommandLine);
            if (error is not null)
            {
                throw new FlagParseException($"invalid value \"{value}\" for flag -{name}: {error}");
            }
        }

        ApplyEnvironment(environment ?? ProcessEnvironment(), warnings);
        return new FlagParseResult(args.Skip(i).ToArray(), warnings, help);
    }

    /// <summary>Help text: one entry per flag with its default and environment variable.</summary>
    public string Usage()
    {
        var sb = new StringBuilder();
        sb.Append("Usage of ").Append(ProgramName).AppendLine(":");
        foreach (Flag flag in _ordered)
        {
            sb.Append("  --").Append(flag.Name);
            if (!flag.IsBoolean)
            {
                sb.Append(" <value>");
            }

            sb.AppendLine();
            sb.Append("        ").Append(flag.Usage);
            if (flag.DefaultText.Length > 0)
            {
                sb.Append(" (default: ").Append(flag.DefaultText).Append(')');
            }

            if (flag.EnvironmentVariable is not null)
            {
                sb.Append(" [$").Append(flag.EnvironmentVariable).Append(']');
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    private void ApplyEnvironment(IReadOnlyDictionary<string, string> environment, List<string> warnings)
    {
        if (_environmentPrefix is null)
        {
            return;
        }

        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (Flag flag in _ordered)
        {
            string variable = flag.EnvironmentVariable!;
            known.Add(variable);
            if (!environment.TryGetValue(variable, out string? value))
            {
                continue;
            }

            if (flag.Source == FlagSource.CommandLine)
            {
                warnings.Add($"environment variable {variable} is shadowed by the command-line flag --{flag.Name}");
                continue;
            }

            string? error = flag.Set(value, FlagSource.Environment);
            if (error is not null)
            {
                throw new FlagParseException($"invalid value \"{value}\" for environment variable {variable}: {error}");
            }
        }

        string prefix = _environmentPrefix + "_";
        foreach (string variable in environment.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !known.Contains(k)).Order(StringComparer.Ordinal))
        {
            warnings.Add($"unrecognized environment variable {variable}");
        }
    }

    private Flag<T> Add<T>(
        string name,
        T defaultValue,
        string usage,
        Func<string, T?, (T? Value, string? Error)> parse,
        Func<T, string> format,
        bool isBoolean = false,
        bool accumulates = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_flags.ContainsKey(name))
        {
            throw new InvalidOperationException($"flag redefined: {name}");
        }

        var flag = new Flag<T>(name, defaultValue, usage, EnvironmentVariableFor(name), parse, format, isBoolean, accumulates);
        _flags.Add(name, flag);
        _ordered.Add(flag);
        return flag;
    }

    private static Dictionary<string, string> ProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        return result;
    }
}

/// <summary>What <see cref="FlagSet.Parse"/> leaves over.</summary>
/// <param name="Positional">Arguments after the flags.</param>
/// <param name="Warnings">Shadowed or unrecognized environment variables, worth logging.</param>
/// <param name="HelpRequested">True when <c>-h</c>/<c>--help</c> was given.</param>
public sealed record FlagParseResult(IReadOnlyList<string> Positional, IReadOnlyList<string> Warnings, bool HelpRequested);
