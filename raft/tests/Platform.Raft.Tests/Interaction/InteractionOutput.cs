using System.Text;

namespace Platform.Raft.Tests.Interaction;

/// <summary>Verbosity of an <see cref="InteractionOutput"/>, lowest first; <see cref="None"/> silences everything but errors.</summary>
internal enum InteractionLogLevel
{
    Debug,
    Info,
    Warn,
    Error,
    None,
}

/// <summary>
/// The output of one scenario command: the harness's own trace and, as the nodes' logger, raft's
/// log lines prefixed with their level (<c>INFO 1 became leader at term 1</c>), interleaved in the
/// order they happen. Nested steps are indented with <see cref="WithIndent"/>.
/// </summary>
internal sealed class InteractionOutput : IRaftLogger
{
    private StringBuilder _builder = new();

    /// <summary>Lines below this level are dropped; at <see cref="InteractionLogLevel.None"/> the harness's trace is dropped too.</summary>
    public InteractionLogLevel Level { get; set; } = InteractionLogLevel.Debug;

    public bool Quiet => Level == InteractionLogLevel.None;

    public int Length => _builder.Length;

    public void Write(string text)
    {
        if (!Quiet)
        {
            _builder.Append(text);
        }
    }

    /// <summary>Writes <paramref name="text"/> and ends the line unless it already ends one.</summary>
    public void WriteLine(string text)
    {
        if (Quiet)
        {
            return;
        }

        _builder.Append(text);
        if (text.Length == 0 || text[^1] != '\n')
        {
            _builder.Append('\n');
        }
    }

    /// <summary>Writes even when quiet: errors always show.</summary>
    public void WriteError(string text) => _builder.Append(text).Append('\n');

    /// <summary>Returns what was written since the last call and starts afresh.</summary>
    public string Take()
    {
        string text = _builder.ToString();
        _builder.Clear();
        return text;
    }

    /// <summary>Runs <paramref name="action"/>, indenting by two spaces every line it writes.</summary>
    public void WithIndent(Action action)
    {
        StringBuilder outer = _builder;
        _builder = new StringBuilder();
        try
        {
            action();
        }
        finally
        {
            string inner = _builder.ToString();
            _builder = outer;
            foreach (string line in inner.Split('\n'))
            {
                if (line.Length > 0)
                {
                    _builder.Append("  ").Append(line).Append('\n');
                }
            }
        }
    }

    public void Debug(string message) => Log(InteractionLogLevel.Debug, "DEBUG", message);

    public void Info(string message) => Log(InteractionLogLevel.Info, "INFO", message);

    public void Warning(string message) => Log(InteractionLogLevel.Warn, "WARN", message);

    public void Error(string message) => Log(InteractionLogLevel.Error, "ERROR", message);

    private void Log(InteractionLogLevel level, string name, string message)
    {
        if (Level <= level)
        {
            WriteLine(name + " " + message);
        }
    }
}
