namespace Platform.Common.Flags;

/// <summary>A flag declared on a <see cref="FlagSet"/>; holds its value once the set is parsed.</summary>
public abstract class Flag
{
    private protected Flag(string name, string usage, string? environmentVariable)
    {
        Name = name;
        Usage = usage;
        EnvironmentVariable = environmentVariable;
    }

    /// <summary>The long name without dashes, e.g. <c>data-dir</c>.</summary>
    public string Name { get; }

    /// <summary>One line of help text.</summary>
    public string Usage { get; }

    /// <summary>The environment variable that supplies the value when the command line does not, or null.</summary>
    public string? EnvironmentVariable { get; }

    /// <summary>Where the current value came from.</summary>
    public FlagSource Source { get; private set; }

    /// <summary>True when the command line or the environment supplied the value.</summary>
    public bool IsSet => Source != FlagSource.Default;

    /// <summary>True for flags that take no value on the command line (<c>--flag</c> means true).</summary>
    public abstract bool IsBoolean { get; }

    /// <summary>The default value as shown in help.</summary>
    public abstract string DefaultText { get; }

    /// <summary>Parses and stores <paramref name="text"/>; returns an error message or null.</summary>
    internal string? Set(string text, FlagSource source)
    {
        string? error = Parse(text);
        if (error is null)
        {
            Source = source;
        }

        return error;
    }

    private protected abstract string? Parse(string text);
}

/// <summary>A typed flag.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class Flag<T> : Flag
{
    private readonly Func<string, T?, (T? Value, string? Error)> _parse;
    private readonly Func<T, string> _format;
    private readonly bool _accumulates;

    internal Flag(
        string name,
        T defaultValue,
        string usage,
        string? environmentVariable,
        Func<string, T?, (T? Value, string? Error)> parse,
        Func<T, string> format,
        bool isBoolean = false,
        bool accumulates = false)
        : base(name, usage, environmentVariable)
    {
        Value = defaultValue;
        DefaultValue = defaultValue;
        _parse = parse;
        _format = format;
        IsBoolean = isBoolean;
        _accumulates = accumulates;
    }

    /// <summary>The parsed value, or the default.</summary>
    public T Value { get; private set; }

    /// <summary>The value used when nothing sets the flag.</summary>
    public T DefaultValue { get; }

    /// <inheritdoc/>
    public override bool IsBoolean { get; }

    /// <inheritdoc/>
    public override string DefaultText => _format(DefaultValue);

    private protected override string? Parse(string text)
    {
        // A repeatable flag given several times accumulates, but its first use replaces the default.
        T? previous = _accumulates && IsSet ? Value : default;
        (T? value, string? error) = _parse(text, previous);
        if (error is not null)
        {
            return error;
        }

        Value = value!;
        return null;
    }
}
