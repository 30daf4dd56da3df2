using System.Text;

namespace Platform.Kola.Units;

/// <summary>
/// One command of an <c>Exec*=</c> line: its words (still holding <c>$VAR</c>/<c>${VAR}</c>), and the
/// prefixes systemd knows: <c>-</c> (failure ignored), <c>@</c> (second word is argv[0]), <c>:</c> (no
/// variable expansion); <c>+</c>, <c>!</c> and <c>!!</c> (privilege tweaks) are accepted and change nothing
/// because everything runs as root here.
/// </summary>
internal sealed record ExecCommand(IReadOnlyList<string> Words, bool IgnoreFailure, bool ArgvZeroOverride, bool NoExpansion, string Source)
{
    /// <summary>Splits an <c>Exec*=</c> value into commands (a lone <c>;</c> word separates them, as older systemd allowed).</summary>
    /// <exception cref="FormatException">Unbalanced quotes, or no executable.</exception>
    public static List<ExecCommand> Parse(string value)
    {
        var commands = new List<ExecCommand>();
        List<(string Word, bool Quoted)> words = WordSplitter.Split(value, cunescape: true);
        int start = 0;
        for (int i = 0; i <= words.Count; i++)
        {
            if (i < words.Count && !(words[i].Word == ";" && !words[i].Quoted))
            {
                continue;
            }

            if (i > start)
            {
                commands.Add(FromWords([.. words.Skip(start).Take(i - start).Select(w => w.Word)], value));
            }

            start = i + 1;
        }

        return commands.Count > 0 ? commands : throw new FormatException("empty command line");
    }

    private static ExecCommand FromWords(List<string> words, string source)
    {
        string first = words[0];
        int p = 0;
        bool ignore = false, argv0 = false, noExpand = false;
        while (p < first.Length && first[p] is '-' or '@' or '+' or '!' or ':')
        {
            switch (first[p])
            {
                case '-':
                    ignore = true;
                    break;
                case '@':
                    argv0 = true;
                    break;
                case ':':
                    noExpand = true;
                    break;
            }

            p++;
        }

        words[0] = first[p..];
        if (words[0].Length == 0)
        {
            throw new FormatException($"no executable in \"{source}\"");
        }

        if (argv0 && words.Count < 2)
        {
            throw new FormatException($"'@' needs an argv[0] after the executable in \"{source}\"");
        }

        return new ExecCommand(words, ignore, argv0, noExpand, source);
    }

    /// <summary>
    /// The executable and argv after systemd's variable expansion: a word that is exactly <c>$NAME</c>
    /// becomes the value split at whitespace (nothing when unset or empty); <c>${NAME}</c> anywhere in a
    /// word is replaced in place; <c>$$</c> is a literal <c>$</c>.
    /// </summary>
    public (string Executable, List<string> Argv) Expand(IReadOnlyDictionary<string, string> environment)
    {
        var expanded = new List<string>();
        foreach (string word in Words)
        {
            if (NoExpansion)
            {
                expanded.Add(word);
                continue;
            }

            if (word.Length > 1 && word[0] == '$' && word[1] != '{' && word[1] != '$' && IsName(word.AsSpan(1)))
            {
                if (environment.TryGetValue(word[1..], out string? value))
                {
                    expanded.AddRange(value.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries));
                }

                continue;
            }

            expanded.Add(ExpandBraces(word, environment));
        }

        if (expanded.Count == 0)
        {
            throw new FormatException($"command \"{Source}\" expands to nothing");
        }

        string executable = expanded[0];
        List<string> argv = ArgvZeroOverride ? expanded.Skip(1).ToList() : expanded;
        if (argv.Count == 0)
        {
            argv = [executable];
        }

        return (executable, argv);
    }

    public static string ExpandBraces(string word, IReadOnlyDictionary<string, string> environment)
    {
        if (!word.Contains('$', StringComparison.Ordinal))
        {
            return word;
        }

        var result = new StringBuilder(word.Length);
        for (int i = 0; i < word.Length; i++)
        {
            if (word[i] == '$' && i + 1 < word.Length && word[i + 1] == '$')
            {
                result.Append('$');
                i++;
                continue;
            }

            if (word[i] == '$' && i + 1 < word.Length && word[i + 1] == '{')
            {
                int close = word.IndexOf('}', i + 2);
                if (close > 0 && IsName(word.AsSpan(i + 2, close - i - 2)))
                {
                    if (environment.TryGetValue(word[(i + 2)..close], out string? value))
                    {
                        result.Append(value);
                    }

                    i = close;
                    continue;
                }
            }

            result.Append(word[i]);
        }

        return result.ToString();
    }

    public static bool IsName(ReadOnlySpan<char> name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>systemd's word splitting: whitespace separates, quotes group (anywhere in a word), C escapes.</summary>
internal static class WordSplitter
{
    /// <exception cref="FormatException">An unbalanced quote or a trailing backslash.</exception>
    public static List<(string Word, bool Quoted)> Split(string value, bool cunescape)
    {
        var words = new List<(string, bool)>();
        var current = new StringBuilder();
        bool inWord = false, quoted = false;
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else if (c == '\\' && quote == '"' || c == '\\' && cunescape)
                {
                    i = Escape(value, i, current);
                }
                else
                {
                    current.Append(c);
                }

                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add((current.ToString(), quoted));
                    current.Clear();
                    inWord = false;
                    quoted = false;
                }

                continue;
            }

            inWord = true;
            if (c is '"' or '\'')
            {
                quote = c;
                quoted = true;
            }
            else if (c == '\\')
            {
                quoted |= i + 1 < value.Length && value[i + 1] == ';';
                i = Escape(value, i, current);
            }
            else
            {
                current.Append(c);
            }
        }

        if (quote != '\0')
        {
            throw new FormatException($"unbalanced quote in \"{value}\"");
        }

        if (inWord)
        {
            words.Add((current.ToString(), quoted));
        }

        return words;
    }

    private static int Escape(string value, int i, StringBuilder current)
    {
        if (i + 1 >= value.Length)
        {
            throw new FormatException($"trailing backslash in \"{value}\"");
        }

        char e = value[++i];
        switch (e)
        {
            case 'n':
                current.Append('\n');
                break;
            case 't':
                current.Append('\t');
                break;
            case 'r':
                current.Append('\r');
                break;
            case 'a':
                current.Append('\a');
                break;
            case 'x' when i + 2 < value.Length && Uri.IsHexDigit(value[i + 1]) && Uri.IsHexDigit(value[i + 2]):
                current.Append((char)Convert.ToInt32(value.Substring(i + 1, 2), 16));
                i += 2;
                break;
            default:
                current.Append(e);
                break;
        }

        return i;
    }
}

/// <summary><c>Environment=</c> values and <c>EnvironmentFile=</c> contents.</summary>
internal static class EnvironmentSyntax
{
    /// <summary>
    /// <c>Environment="A=b c" D=e 'F=g h'</c>: words (quotes anywhere) that must each be NAME=VALUE;
    /// others are reported and skipped.
    /// </summary>
    public static List<KeyValuePair<string, string>> ParseAssignments(string value, List<string> warnings, string where)
    {
        var result = new List<KeyValuePair<string, string>>();
        List<(string Word, bool Quoted)> words;
        try
        {
            words = WordSplitter.Split(value, cunescape: true);
        }
        catch (FormatException e)
        {
            warnings.Add($"{where}: Invalid environment assignment, ignoring: {e.Message}");
            return result;
        }

        foreach ((string word, _) in words)
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !ExecCommand.IsName(word.AsSpan(0, eq)))
            {
                warnings.Add($"{where}: Invalid environment assignment, ignoring: {word}");
                continue;
            }

            result.Add(new(word[..eq], word[(eq + 1)..]));
        }

        return result;
    }

    /// <summary>
    /// An environment file: <c>KEY=VALUE</c> lines, <c>#</c>/<c>;</c> comments, values optionally in single
    /// (literal) or double quotes (with backslash escapes), unquoted values trimmed, a trailing backslash
    /// joining the next line. Lines without <c>=</c> or with an invalid name are skipped.
    /// </summary>
    public static List<KeyValuePair<string, string>> ParseFile(string text)
    {
        var result = new List<KeyValuePair<string, string>>();
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimStart();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            while (line.EndsWith('\\') && i + 1 < lines.Length)
            {
                line = line[..^1] + lines[++i];
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            string key = line[..eq].Trim();
            if (key.StartsWith("export ", StringComparison.Ordinal))
            {
                key = key[7..].Trim();
            }

            if (!ExecCommand.IsName(key))
            {
                continue;
            }

            string raw = line[(eq + 1)..].Trim();
            result.Add(new(key, Unquote(raw)));
        }

        return result;
    }

    private static string Unquote(string raw)
    {
        if (raw.Length >= 2 && raw[0] == '\'' && raw[^1] == '\'')
        {
            return raw[1..^1];
        }

        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"')
        {
            var sb = new StringBuilder();
            string inner = raw[1..^1];
            for (int i = 0; i < inner.Length; i++)
            {
                if (inner[i] == '\\' && i + 1 < inner.Length && inner[i + 1] is '"' or '\\' or '`' or '$')
                {
                    i++;
                }

                sb.Append(inner[i]);
            }

            return sb.ToString();
        }

        return raw;
    }
}
