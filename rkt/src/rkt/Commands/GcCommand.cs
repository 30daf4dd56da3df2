using Platform.Common.Flags;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt gc [--grace-period=30m] [--expire-prepared=24h] [--mark-only]</c>: mark and sweep of pods.</summary>
internal sealed class GcCommand : ICommand
{
    private Flag<TimeSpan> _grace = null!;
    private Flag<TimeSpan> _expirePrepared = null!;
    private Flag<bool> _markOnly = null!;

    public string Name => "gc";

    public string Usage => "[--grace-period=DURATION] [--expire-prepared=DURATION] [--mark-only]";

    public string Summary => "Garbage collect rkt pods no longer in use";

    public void DefineFlags(FlagSet flags)
    {
        _grace = flags.Duration("grace-period", TimeSpan.FromMinutes(30), "duration to wait before discarding inactive pods from garbage");
        _expirePrepared = flags.Duration("expire-prepared", TimeSpan.FromHours(24), "duration to wait before expiring prepared pods");
        _markOnly = flags.Bool("mark-only", false, "move to the garbage directories without actually deleting");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            var operations = new PodOperations(PodCommandSupport.Store(context), PodCommandSupport.Networking(context), context.Time);
            GcReport report = await operations.CollectAsync(_grace.Value, _expirePrepared.Value, _markOnly.Value, line => context.Stdout.WriteLine(line), cancellationToken).ConfigureAwait(false);
            return report.Failed.Count == 0 ? CommandLine.ExitOk : CommandLine.ExitFailure;
        });
}
