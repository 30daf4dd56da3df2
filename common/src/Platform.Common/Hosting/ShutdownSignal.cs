using System.Runtime.InteropServices;

namespace Platform.Common.Hosting;

/// <summary>
/// SIGINT/SIGTERM as a cancellation token, for command-line tools that run long work without a
/// host (a fetch, a benchmark). The first signal cancels; the process then finishes its cleanup.
/// </summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public ShutdownSignal()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled when the first SIGINT or SIGTERM arrives.</summary>
    public CancellationToken Token => _cts.Token;

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _cts.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Keep the process alive so the caller's finally blocks run.
        context.Cancel = true;
        _cts.Cancel();
    }
}
