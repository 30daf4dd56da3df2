using System.Text;

namespace Platform.Testing.Scenarios;

/// <summary>
/// A scenario file: commands in, expected output after each. The format (after the data-driven
/// tests of etcd-io/raft and CockroachDB):
/// <code>
/// # comment lines and blank lines between blocks are kept on rewrite
/// command arg key=value list=(a, b)
/// optional input lines
/// ----
/// expected output, up to the next blank line
///
/// command-whose-output-has-blank-lines
/// ----
/// ----
/// line one
///
/// line three
/// ----
/// ----
/// </code>
/// </summary>
public sealed class ScenarioFile
{
    private const string Separator = "----";

    private ScenarioFile(string path, IReadOnlyList<ScenarioBlock> blocks, string trailer)
    {
        Path = path;
        Blocks = blocks;
        Trailer = trailer;
    }

    public string Path { get; }

    public IReadOnlyList<ScenarioBlock> Blocks { get; }

    /// <summary>Comments and blank lines after the last block.</summary>
    public string Trailer { get; }

    public static ScenarioFile Load(string path) => Parse(path, File.ReadAllText(path));

    /// <summary>Parses <paramref name="text"/>; <paramref name="path"/> is used in positions only.</summary>
    /// <exception cref="ScenarioException">A block without <c>----</c>, or an unterminated double-separator output.</exception>
    public static ScenarioFile Parse(string path, string text)
    {
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0)
        {
            lines = lines[..^1];
        }

        var blocks = new List<ScenarioBlock>();
        var leading = new StringBuilder();
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i];
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                leading.Append(line).Append('\n');
                i++;
                continue;
            }

            int commandLine = i + 1;
            string position = $"{path}:{commandLine}";
            (string name, List<ScenarioArgument> arguments) = ParseCommandLine(line, position);
            i++;
            var input = new List<string>();
            while (i < lines.Length && lines[i] != Separator)
            {
                if (lines[i].Trim().Length == 0)
                {
                    throw new ScenarioException($"{position}: {name}: expected \"{Separator}\" before a blank line");
                }

                input.Add(lines[i]);
                i++;
            }

            if (i >= lines.Length)
            {
                throw new ScenarioException($"{position}: {name}: missing \"{Separator}\"");
            }

            i++; // the separator
            var output = new List<string>();
            if (i < lines.Length && lines[i] == Separator)
            {
                // Double-separator form: output runs until "----" followed by "----".
                i++;
                while (true)
                {
                    if (i + 1 >= lines.Length)
                    {
                        throw new ScenarioException($"{position}: {name}: output not closed by \"{Separator}\" \"{Separator}\"");
                    }

                    if (lines[i] == Separator && lines[i + 1] == Separator)
                    {
                        i += 2;
                        break;
                    }

                    output.Add(lines[i]);
                    i++;
                }
            }
            else
            {
                while (i < lines.Length && lines[i].Trim().Length > 0)
                {
                    output.Add(lines[i]);
                    i++;
                }
            }

            blocks.Add(new ScenarioBlock(
                leading.ToString(),
                line,
                new ScenarioCommand(name, arguments, string.Join('\n', input), position),
                string.Join('\n', output)));
            leading.Clear();
        }

        return new ScenarioFile(path, blocks, leading.ToString());
    }

    /// <summary>Writes the file back with <paramref name="outputs"/> as the expected outputs (one per block).</summary>
    public string Render(IReadOnlyList<string> outputs)
    {
        if (outputs.Count != Blocks.Count)
        {
            throw new ArgumentException($"expected {Blocks.Count} outputs, got {outputs.Count}", nameof(outputs));
        }

        var sb = new StringBuilder();
        for (int b = 0; b < Blocks.Count; b++)
        {
            ScenarioBlock block = Blocks[b];
            string output = Normalize(outputs[b]);
            if (b > 0 && block.Leading.Length == 0)
            {
                sb.Append('\n');
            }

            sb.Append(block.Leading).Append(block.CommandLine).Append('\n');
            if (block.Command.Input.Length > 0)
            {
                sb.Append(block.Command.Input).Append('\n');
            }

            sb.Append(Separator).Append('\n');
            bool needsDouble = output.Split('\n').Any(l => l.Trim().Length == 0) && output.Length > 0;
            if (needsDouble)
            {
                sb.Append(Separator).Append('\n').Append(output).Append('\n').Append(Separator).Append('\n').Append(Separator).Append('\n');
            }
            else if (output.Length > 0)
            {
                sb.Append(output).Append('\n');
            }
        }

        string trailer = Trailer;
        if (trailer.Length > 0 && Blocks.Count > 0 && !trailer.StartsWith('\n'))
        {
            sb.Append('\n');
        }

        return sb.Append(trailer).ToString();
    }

    /// <summary>Output as compared and stored: no trailing whitespace on lines, no trailing newlines.</summary>
    public static string Normalize(string output) =>
        string.Join('\n', output.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd())).TrimEnd('\n');

    private static (string Name, List<ScenarioArgument> Arguments) ParseCommandLine(string line, string position)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < line.Length)
        {
            if (char.IsWhiteSpace(line[i]))
            {
                i++;
                continue;
            }

            int start = i;
            int depth = 0;
            while (i < line.Length && (depth > 0 || !char.IsWhiteSpace(line[i])))
            {
                if (line[i] == '(')
                {
                    depth++;
                }
                else if (line[i] == ')')
                {
                    depth--;
                }

                i++;
            }

            if (depth != 0)
            {
                throw new ScenarioException($"{position}: unbalanced parentheses in \"{line}\"");
            }

            tokens.Add(line[start..i]);
        }

        string name = tokens[0];
        var arguments = new List<ScenarioArgument>();
        foreach (string token in tokens.Skip(1))
        {
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                arguments.Add(new ScenarioArgument(token, []));
                continue;
            }

            string key = token[..eq];
            string value = token[(eq + 1)..];
            string[] values = value.StartsWith('(') && value.EndsWith(')')
                ? value[1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : [value];
            arguments.Add(new ScenarioArgument(key, values));
        }

        return (name, arguments);
    }
}

/// <summary>One command of a scenario file with the text around it.</summary>
/// <param name="Leading">Comments and blank lines before the command, verbatim.</param>
/// <param name="CommandLine">The command line as written.</param>
/// <param name="Command">The parsed command.</param>
/// <param name="ExpectedOutput">The expected output, normalized.</param>
public sealed record ScenarioBlock(string Leading, string CommandLine, ScenarioCommand Command, string ExpectedOutput);
