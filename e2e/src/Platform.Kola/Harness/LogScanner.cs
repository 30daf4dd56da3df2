using System.Text.RegularExpressions;

namespace Platform.Kola.Harness;

/// <summary>
/// What kola looks for in every machine's console and journal after a test (mantle's
/// checkConsole list, plus what a .NET process prints when it dies): any hit fails the test even
/// when its body passed, because a crash the test did not notice is still a crash.
/// </summary>
internal static partial class LogScanner
{
    private static readonly (string What, Regex Pattern)[] s_patterns =
    [
        ("kernel panic", KernelPanic()),
        ("kernel oops", KernelOops()),
        ("kernel warning", KernelWarning()),
        ("Go panic", GoPanic()),
        ("Go fatal error", GoFatal()),
        (".NET unhandled exception", DotnetUnhandled()),
        (".NET fail-fast", DotnetFailFast()),
        ("segmentation fault", Segfault()),
        ("core dump", CoreDump()),
        ("emergency shell", EmergencyShell()),
    ];

    /// <summary>The problems found in <paramref name="log"/>: what kind, and the line it is on.</summary>
    public static IReadOnlyList<string> Scan(string source, string log)
    {
        var found = new List<string>();
        foreach ((string what, Regex pattern) in s_patterns)
        {
            Match m = pattern.Match(log);
            if (m.Success)
            {
                int start = log.LastIndexOf('\n', m.Index) + 1;
                int end = log.IndexOf('\n', m.Index);
                string line = log[start..(end < 0 ? log.Length : end)].Trim();
                found.Add($"{source}: {what}: {line}");
            }
        }

        return found;
    }

    [GeneratedRegex(@"Kernel panic - not syncing")]
    private static partial Regex KernelPanic();

    [GeneratedRegex(@"\bOops: \d+")]
    private static partial Regex KernelOops();

    [GeneratedRegex(@"WARNING: CPU: \d+ PID: \d+")]
    private static partial Regex KernelWarning();

    [GeneratedRegex(@"(?m)^panic: |goroutine \d+ \[running\]:")]
    private static partial Regex GoPanic();

    [GeneratedRegex(@"(?m)^fatal error: ")]
    private static partial Regex GoFatal();

    [GeneratedRegex(@"Unhandled exception\. ")]
    private static partial Regex DotnetUnhandled();

    [GeneratedRegex(@"(?m)^Process terminated\. ")]
    private static partial Regex DotnetFailFast();

    [GeneratedRegex(@"\bSIGSEGV\b|segfault at [0-9a-f]+")]
    private static partial Regex Segfault();

    [GeneratedRegex(@"\(core dumped\)|dumped core")]
    private static partial Regex CoreDump();

    [GeneratedRegex(@"You are in emergency mode|Entering emergency mode")]
    private static partial Regex EmergencyShell();
}
