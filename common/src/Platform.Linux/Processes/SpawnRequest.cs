namespace Platform.Linux.Processes;

/// <summary>
/// What <see cref="ProcessSpawner"/> starts: an executable by absolute path (no PATH search), its argv
/// and environment, which of the caller's descriptors become the child's 0, 1 and 2, and whether it gets
/// its own session. Every signal is reset to its default disposition and the signal mask is emptied in
/// the child, whatever the calling runtime had set.
/// </summary>
public sealed class SpawnRequest
{
    /// <summary>The executable, absolute (resolved in the filesystem root of the spawning thread).</summary>
    public required string Path { get; init; }

    /// <summary>argv, including argv[0].</summary>
    public required IReadOnlyList<string> Arguments { get; init; }

    /// <summary>The whole environment as <c>NAME=value</c> strings.</summary>
    public IReadOnlyList<string> Environment { get; init; } = [];

    /// <summary>The caller's descriptor that becomes the child's stdin (0 keeps the caller's own).</summary>
    public int StdinFd { get; init; }

    /// <summary>The caller's descriptor that becomes the child's stdout.</summary>
    public int StdoutFd { get; init; } = 1;

    /// <summary>The caller's descriptor that becomes the child's stderr.</summary>
    public int StderrFd { get; init; } = 2;

    /// <summary>Directory to change to in the child before exec (relative to the spawning thread's root), or null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>setsid() in the child (a new session and process group).</summary>
    public bool NewSession { get; init; }
}

/// <summary>How a child ended: an exit code or a terminating signal.</summary>
public readonly record struct ExitStatus(int Code, int Signal)
{
    /// <summary>Decodes a raw waitpid status.</summary>
    public static ExitStatus FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? new ExitStatus((status >> 8) & 0xff, 0) : new ExitStatus(0, status & 0x7f);

    /// <summary>The shell's convention: the code, or 128 + signal.</summary>
    public int ShellCode => Signal != 0 ? 128 + Signal : Code;

    public override string ToString() => Signal != 0 ? $"signal {Signal}" : $"exit {Code}";
}
