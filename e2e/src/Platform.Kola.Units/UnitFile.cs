using System.Text;

namespace Platform.Kola.Units;

/// <summary>One <c>Key=Value</c> assignment of a unit file or drop-in, with where it came from.</summary>
internal sealed record UnitEntry(string Section, string Key, string Value, string File, int Line);

/// <summary>
/// systemd's unit file syntax: <c>[Section]</c> headers, <c>Key=Value</c> lines (whitespace around
/// both trimmed), <c>#</c>/<c>;</c> comments, a trailing <c>\</c> joining the next line (the
/// backslash becomes a space; comment lines inside a continuation are skipped), repeated keys kept
/// in order. Lines that are not assignments are reported and ignored, as systemd does.
/// </summary>
internal static class UnitFile
{
    public static List<UnitEntry> Parse(string text, string file, List<string> warnings)
    {
        var entries = new List<UnitEntry>();
        string? section = null;
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line.EndsWith('\\') && line[0] != '[')
            {
                var joined = new StringBuilder(line[..^1]);
                while (true)
                {
                    i++;
                    if (i >= lines.Length)
                    {
                        break;
                    }

                    string next = lines[i].Trim();
                    if (next.Length > 0 && next[0] is '#' or ';')
                    {
                        continue;
                    }

                    joined.Append(' ');
                    if (next.EndsWith('\\'))
                    {
                        joined.Append(next.AsSpan(0, next.Length - 1));
                        continue;
                    }

                    joined.Append(next);
                    break;
                }

                line = joined.ToString().Trim();
            }

            if (line[0] == '[')
            {
                if (line[^1] != ']' || line.Length < 3)
                {
                    warnings.Add($"{file}:{lineNumber}: Invalid section header '{line}'");
                    section = null;
                    continue;
                }

                section = line[1..^1];
                continue;
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                warnings.Add($"{file}:{lineNumber}: Missing '=', ignoring line.");
                continue;
            }

            if (section is null)
            {
                warnings.Add($"{file}:{lineNumber}: Assignment outside of section. Ignoring.");
                continue;
            }

            entries.Add(new UnitEntry(section, line[..eq].Trim(), line[(eq + 1)..].Trim(), file, lineNumber));
        }

        return entries;
    }
}

/// <summary>Resolves systemd specifiers (<c>%n %N %p %P %i %I %H %m %t %%</c>) in unit file values.</summary>
internal sealed class Specifiers
{
    private readonly string _name;
    private readonly string _hostname;
    private readonly Func<string> _machineId;

    public Specifiers(string unitName, string hostname, Func<string> machineId)
    {
        _name = unitName;
        _hostname = hostname;
        _machineId = machineId;
    }

    public string Resolve(string value, List<string> warnings, UnitEntry where)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c != '%')
            {
                result.Append(c);
                continue;
            }

            if (i + 1 >= value.Length)
            {
                warnings.Add($"{where.File}:{where.Line}: Failed to resolve specifiers in {value}, ignoring: trailing '%'");
                result.Append('%');
                break;
            }

            char s = value[++i];
            string prefix = UnitNames.Prefix(_name);
            string? replacement = s switch
            {
                'n' => _name,
                'N' => UnitNames.WithoutSuffix(_name),
                'p' or 'P' => prefix,
                'i' or 'I' => UnitNames.Instance(_name),
                'H' => _hostname,
                'm' => _machineId(),
                't' => "/run",
                '%' => "%",
                _ => null,
            };
            if (replacement is null)
            {
                warnings.Add($"{where.File}:{where.Line}: Failed to resolve unit specifiers in {value}: unknown specifier %{s}, kept as is");
                result.Append('%').Append(s);
                continue;
            }

            result.Append(replacement);
        }

        return result.ToString();
    }
}

/// <summary>Unit name rules: suffixes, templates and instances.</summary>
internal static class UnitNames
{
    public static readonly string[] Suffixes =
        ["service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope"];

    /// <summary>What systemctl does with a bare name: <c>etcd2</c> → <c>etcd2.service</c>.</summary>
    public static string Normalize(string name)
    {
        string suffix = Suffix(name);
        return Array.IndexOf(Suffixes, suffix) >= 0 ? name : name + ".service";
    }

    public static string Suffix(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot < 0 ? string.Empty : name[(dot + 1)..];
    }

    public static string WithoutSuffix(string name)
    {
        int dot = name.LastIndexOf('.');
        return dot < 0 ? name : name[..dot];
    }

    public static string Prefix(string name)
    {
        string bare = WithoutSuffix(name);
        int at = bare.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? bare : bare[..at];
    }

    public static string Instance(string name)
    {
        string bare = WithoutSuffix(name);
        int at = bare.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? string.Empty : bare[(at + 1)..];
    }

    /// <summary>The template of an instance (<c>a@b.service</c> → <c>a@.service</c>), or null.</summary>
    public static string? Template(string name)
    {
        string bare = WithoutSuffix(name);
        int at = bare.IndexOf('@', StringComparison.Ordinal);
        return at < 0 || at == bare.Length - 1 ? null : bare[..(at + 1)] + "." + Suffix(name);
    }

    public static bool IsValid(string name) =>
        name.Length is > 0 and < 256 && Array.IndexOf(Suffixes, Suffix(name)) >= 0 && WithoutSuffix(name).Length > 0 &&
        !name.Contains('/', StringComparison.Ordinal) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is ':' or '-' or '_' or '.' or '\\' or '@');
}
