namespace Platform.Rkt.Networking;

/// <summary>
/// rkt's <c>--net</c> value: comma-separated items <c>NAME[:K=V;K2=V2]</c>. The words <c>host</c> (the
/// host's namespace) and <c>none</c> (loopback only) stand alone; <c>all</c> selects every configured
/// network; <c>default</c> is rkt's built-in NAT network unless net.d overrides it.
/// </summary>
public static class NetFlag
{
    /// <summary>The selection rkt uses when <c>--net</c> is not given.</summary>
    public static IReadOnlyList<NetworkSelection> Default { get; } = [new NetworkSelection("default", new Dictionary<string, string>())];

    /// <summary>Parses one <c>--net</c> value, e.g. <c>default,foo:IP=1.2.3.4;X=y</c>.</summary>
    /// <exception cref="FormatException">Empty or malformed items, duplicate names, bad arguments, or host/none mixed with other networks.</exception>
    public static IReadOnlyList<NetworkSelection> Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<NetworkSelection>();
        foreach (string rawItem in value.Split(','))
        {
            string item = rawItem.Trim();
            if (item.Length == 0)
            {
                throw new FormatException($"--net=\"{value}\": empty network name");
            }

            int colon = item.IndexOf(':', StringComparison.Ordinal);
            string name = colon < 0 ? item : item[..colon];
            string args = colon < 0 ? string.Empty : item[(colon + 1)..];
            if (!IsValidName(name))
            {
                throw new FormatException($"--net: invalid network name \"{name}\" (letters, digits, '-', '_' and '.' only, starting with a letter or digit)");
            }

            if (result.Any(n => n.Name == name))
            {
                throw new FormatException($"--net: network \"{name}\" given more than once");
            }

            if (colon >= 0 && name is "host" or "none" or "all")
            {
                throw new FormatException($"--net: \"{name}\" takes no arguments");
            }

            result.Add(new NetworkSelection(name, ParseArgs(name, args)));
        }

        foreach (string alone in (string[])["host", "none"])
        {
            if (result.Count > 1 && result.Any(n => n.Name == alone))
            {
                throw new FormatException($"--net={alone} cannot be combined with other networks");
            }
        }

        return result;
    }

    /// <summary>Parses several <c>--net</c> flags (rkt accepts the flag repeatedly) into one selection.</summary>
    /// <exception cref="FormatException">As <see cref="Parse(string)"/>, across all values.</exception>
    public static IReadOnlyList<NetworkSelection> Parse(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        string joined = string.Join(',', values);
        return joined.Length == 0 ? Default : Parse(joined);
    }

    /// <summary>True for <c>--net=host</c>: the pod shares the host's network namespace.</summary>
    public static bool IsHost(IReadOnlyList<NetworkSelection> networks) => networks.Count == 1 && networks[0].Name == "host";

    /// <summary>True for <c>--net=none</c>: a namespace with loopback only.</summary>
    public static bool IsNone(IReadOnlyList<NetworkSelection> networks) => networks.Count == 1 && networks[0].Name == "none";

    /// <summary>The CNI_ARGS string for one selection (<c>K=V;K2=V2</c>, in the order given).</summary>
    public static string FormatArgs(NetworkSelection selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        return string.Join(';', selection.Args.Select(a => $"{a.Key}={a.Value}"));
    }

    /// <summary>A CNI network name as the spec allows it: <c>^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$</c>.</summary>
    internal static bool IsValidName(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static Dictionary<string, string> ParseArgs(string name, string args)
    {
        var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in args.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"--net: argument \"{pair}\" of network \"{name}\" is not KEY=VALUE");
            }

            string key = pair[..eq];
            if (!parsed.TryAdd(key, pair[(eq + 1)..]))
            {
                throw new FormatException($"--net: argument \"{key}\" of network \"{name}\" given more than once");
            }
        }

        return parsed;
    }
}
