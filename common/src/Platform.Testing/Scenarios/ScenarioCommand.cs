using System.Globalization;

namespace Platform.Testing.Scenarios;

/// <summary>One argument of a scenario command: <c>key</c>, <c>key=value</c> or <c>key=(v1, v2)</c>.</summary>
/// <param name="Key">The name before <c>=</c>, or the whole word for a bare argument.</param>
/// <param name="Values">The values; empty for a bare argument.</param>
public sealed record ScenarioArgument(string Key, IReadOnlyList<string> Values);

/// <summary>
/// A command read from a scenario file: its name, arguments, the input lines between the command
/// line and <c>----</c>, and where it was written (for error messages).
/// </summary>
public sealed class ScenarioCommand
{
    public ScenarioCommand(string name, IReadOnlyList<ScenarioArgument> arguments, string input, string position)
    {
        Name = name;
        Arguments = arguments;
        Input = input;
        Position = position;
    }

    public string Name { get; }

    public IReadOnlyList<ScenarioArgument> Arguments { get; }

    /// <summary>Input lines joined with '\n', without a trailing newline; empty when none.</summary>
    public string Input { get; }

    /// <summary><c>file:line</c> of the command line.</summary>
    public string Position { get; }

    public bool Has(string key) => Arguments.Any(a => a.Key == key);

    /// <summary>The single value of <paramref name="key"/>.</summary>
    /// <exception cref="ScenarioException">The argument is missing or has several values.</exception>
    public string Get(string key)
    {
        ScenarioArgument arg = Arguments.FirstOrDefault(a => a.Key == key)
            ?? throw new ScenarioException($"{Position}: {Name}: missing argument {key}");
        if (arg.Values.Count != 1)
        {
            throw new ScenarioException($"{Position}: {Name}: argument {key} needs exactly one value");
        }

        return arg.Values[0];
    }

    public string Get(string key, string defaultValue) => Has(key) ? Get(key) : defaultValue;

    public ulong GetUInt64(string key) => ParseUInt64(key, Get(key));

    public ulong GetUInt64(string key, ulong defaultValue) => Has(key) ? GetUInt64(key) : defaultValue;

    public int GetInt32(string key, int defaultValue) => Has(key) ? checked((int)ParseUInt64(key, Get(key))) : defaultValue;

    public bool GetBool(string key, bool defaultValue) => Has(key) ? Get(key) is "true" or "1" : defaultValue;

    /// <summary>All values of <paramref name="key"/>, empty when absent.</summary>
    public IReadOnlyList<string> GetAll(string key) => Arguments.FirstOrDefault(a => a.Key == key)?.Values ?? [];

    /// <summary>Bare positional words, e.g. the <c>1 2 3</c> of <c>deliver-msgs 1 2 3</c>.</summary>
    public IEnumerable<string> Bare() => Arguments.Where(a => a.Values.Count == 0).Select(a => a.Key);

    public override string ToString() => Name + (Arguments.Count == 0 ? string.Empty : " " + string.Join(' ', Arguments.Select(Format)));

    private static string Format(ScenarioArgument a) => a.Values.Count switch
    {
        0 => a.Key,
        1 => $"{a.Key}={a.Values[0]}",
        _ => $"{a.Key}=({string.Join(", ", a.Values)})",
    };

    private ulong ParseUInt64(string key, string text) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : throw new ScenarioException($"{Position}: {Name}: argument {key}={text} is not a non-negative integer");
}

/// <summary>A scenario file is malformed or a command was used wrongly.</summary>
public sealed class ScenarioException : Exception
{
    public ScenarioException()
    {
    }

    public ScenarioException(string message)
        : base(message)
    {
    }

    public ScenarioException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
