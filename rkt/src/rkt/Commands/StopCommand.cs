using Platform.Common.Flags;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt stop [--force] UUID...</c>: SIGTERM (apps get it from stage1) or SIGKILL; prints each stopped UUID.</summary>
internal sealed class StopCommand : ICommand
{
    private Flag<bool> _force = null!;
    private Flag<string> _uuidFile = null!;

    public string Name => "stop";

    public string Usage => "[--force] UUID ...";

    public string Summary => "Stop a pod";

    public void DefineFlags(FlagSet flags)
    {
        _force = flags.Bool("force", false, "forced stopping");
        _uuidFile = flags.String("uuid-file", string.Empty, "read pod UUID from file instead of argument");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, () =>
        {
            PodStore store = PodCommandSupport.Store(context);
            int exit = CommandLine.ExitOk;
            foreach (string uuid in PodCommandSupport.Uuids(args, _uuidFile.Value))
            {
                try
                {
                    PodEntry pod = store.Find(uuid);
                    PodOperations.Stop(pod, _force.Value);
                    context.Stdout.WriteLine(pod.Uuid);
                }
                catch (PodException e)
                {
                    context.Error($"error stopping \"{uuid}\": {e.Message}");
                    exit = CommandLine.ExitFailure;
                }
            }

            return Task.FromResult(exit);
        });
}
