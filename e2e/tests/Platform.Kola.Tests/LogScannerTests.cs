using Platform.Kola.Harness;

namespace Platform.Kola.Tests;

public sealed class LogScannerTests
{
    [Theory]
    [InlineData("[    1.0] Kernel panic - not syncing: VFS", "kernel panic")]
    [InlineData("panic: runtime error: index out of range\n\ngoroutine 1 [running]:", "Go panic")]
    [InlineData("fatal error: concurrent map writes", "Go fatal error")]
    [InlineData("Unhandled exception. System.InvalidOperationException: x", ".NET unhandled exception")]
    [InlineData("Process terminated. Assertion failed.", ".NET fail-fast")]
    [InlineData("etcd[12]: segfault at 0 ip 00007f", "segmentation fault")]
    [InlineData("sh: line 1: 42 Aborted (core dumped) ./x", "core dump")]
    [InlineData("You are in emergency mode. After logging in", "emergency shell")]
    public void Scan_FindsKnownCrashes(string log, string kind)
    {
        string problem = Assert.Single(LogScanner.Scan("m0 journal", "ok\n" + log + "\nmore\n"));

        Assert.StartsWith($"m0 journal: {kind}: ", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_QuietLog_FindsNothing() =>
        Assert.Empty(LogScanner.Scan("m0 console", "{\"level\":\"info\",\"msg\":\"panicked? no, ready to serve client requests\"}\nfatal: not at line start\n"));
}
