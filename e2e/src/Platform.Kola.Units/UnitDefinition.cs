using System.Globalization;

namespace Platform.Kola.Units;

internal enum UnitKind
{
    Service,
    Target,

    /// <summary>.socket, .timer, .path, .mount, ...: loaded and reported, never started.</summary>
    Unsupported,
}

internal enum ServiceType
{
    Simple,
    Exec,
    Oneshot,
    Notify,
}

internal enum RestartPolicy
{
    No,
    Always,
    OnFailure,
    OnSuccess,
    OnAbnormal,
    OnAbort,
}

internal sealed record Condition(string Kind, string Path, bool Negate, bool Trigger, string Source);

/// <summary>A unit as loaded from its fragment, drop-ins and .wants/.requires directories, specifiers resolved.</summary>
internal sealed class UnitDefinition
{
    public required string Name { get; init; }

    /// <summary>Other names this unit was referenced by; copied on write, so readers need no lock.</summary>
    public IReadOnlySet<string> Aliases { get; set; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>loaded, not-found, masked, bad-setting.</summary>
    public string LoadState { get; set; } = "loaded";

    /// <summary>Why LoadState is bad-setting.</summary>
    public string? LoadError { get; set; }

    public string? FragmentPath { get; init; }

    public List<string> DropInPaths { get; } = [];

    public UnitKind Kind { get; init; }

    public string? Description { get; set; }

    public string DisplayName => string.IsNullOrEmpty(Description) ? Name : Description;

    public List<string> Requires { get; } = [];

    public List<string> Wants { get; } = [];

    public List<string> Conflicts { get; } = [];

    public List<string> After { get; } = [];

    public List<string> Before { get; } = [];

    public List<Condition> Conditions { get; } = [];

    public ServiceType Type { get; set; } = ServiceType.Simple;

    public bool RemainAfterExit { get; set; }

    public List<string> Environment { get; } = [];

    public List<(string Path, bool Optional)> EnvironmentFiles { get; } = [];

    public List<ExecCommand> ExecStartPre { get; } = [];

    public List<ExecCommand> ExecStart { get; } = [];

    public List<ExecCommand> ExecStartPost { get; } = [];

    public List<ExecCommand> ExecStop { get; } = [];

    public List<ExecCommand> ExecStopPost { get; } = [];

    public string? WorkingDirectory { get; set; }

    public bool WorkingDirectoryOptional { get; set; }

    public string? User { get; set; }

    public RestartPolicy Restart { get; set; } = RestartPolicy.No;

    public TimeSpan RestartSec { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan? TimeoutStart { get; set; }

    public TimeSpan? TimeoutStop { get; set; }

    public int KillSignal { get; set; } = Signals.SIGTERM;

    public string? SyslogIdentifier { get; set; }

    public int StartLimitBurst { get; set; } = 5;

    public TimeSpan StartLimitInterval { get; set; } = TimeSpan.FromSeconds(10);

    public List<string> WantedBy { get; } = [];

    public List<string> RequiredBy { get; } = [];

    public List<string> Alias { get; } = [];

    public List<string> Also { get; } = [];

    public bool HasInstallSection { get; set; }

    /// <summary>Problems found while loading (systemd logs them); written to the journal once per load.</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Every file read for this unit with its last write time, to tell whether a reload is due.</summary>
    public List<(string Path, DateTime Stamp)> Sources { get; } = [];
}

/// <summary>systemd time spans: <c>90</c>, <c>5s</c>, <c>100ms</c>, <c>1min 30s</c>, <c>infinity</c>.</summary>
internal static class TimeSpans
{
    /// <returns>The span; <see cref="Timeout.InfiniteTimeSpan"/> for <c>infinity</c> (and 0, which systemd treats as "no timeout" for timeouts).</returns>
    /// <exception cref="FormatException">Not a time span.</exception>
    public static TimeSpan Parse(string value)
    {
        string v = value.Trim();
        if (v is "infinity")
        {
            return Timeout.InfiniteTimeSpan;
        }

        double total = 0;
        int i = 0;
        bool any = false;
        while (i < v.Length)
        {
            while (i < v.Length && char.IsWhiteSpace(v[i]))
            {
                i++;
            }

            int start = i;
            while (i < v.Length && (char.IsAsciiDigit(v[i]) || v[i] == '.'))
            {
                i++;
            }

            if (start == i)
            {
                throw new FormatException($"invalid time span \"{value}\"");
            }

            double number = double.Parse(v.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture);
            while (i < v.Length && char.IsWhiteSpace(v[i]))
            {
                i++;
            }

            start = i;
            while (i < v.Length && char.IsAsciiLetter(v[i]))
            {
                i++;
            }

            double factor = v[start..i] switch
            {
                "" or "s" or "sec" or "second" or "seconds" => 1,
                "ms" or "msec" => 0.001,
                "us" or "usec" or "µs" => 0.000001,
                "m" or "min" or "minute" or "minutes" => 60,
                "h" or "hr" or "hour" or "hours" => 3600,
                "d" or "day" or "days" => 86400,
                "w" or "week" or "weeks" => 604800,
                _ => throw new FormatException($"invalid time unit in \"{value}\""),
            };
            total += number * factor;
            any = true;
        }

        return any ? TimeSpan.FromSeconds(total) : throw new FormatException($"invalid time span \"{value}\"");
    }
}

/// <summary>Signal names and numbers (Linux, the same on x86-64 and arm64 for these).</summary>
internal static class Signals
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGPIPE = 13;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;

    private static readonly string[] s_names =
    [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",
        "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];

    public static string Name(int signal) =>
        signal > 0 && signal < s_names.Length ? s_names[signal] : signal.ToString(CultureInfo.InvariantCulture);

    /// <exception cref="FormatException">Unknown signal.</exception>
    public static int Parse(string value)
    {
        string v = value.Trim().ToUpperInvariant();
        if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is > 0 and < 65)
        {
            return n;
        }

        if (v.StartsWith("SIG", StringComparison.Ordinal))
        {
            v = v[3..];
        }

        int index = Array.IndexOf(s_names, v);
        return index > 0 ? index : throw new FormatException($"unknown signal \"{value}\"");
    }
}
