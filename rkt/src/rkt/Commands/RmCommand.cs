using Platform.Common.Flags;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt rm UUID...</c>: removes exited and prepared pods now (networks, mounts, cgroups, directory).</summary>
internal sealed class RmCommand : ICommand
{
    private Flag<string> _uuidFile = null!;

    public string Name => "rm";

    public string Usage => "UUID ...";

    public string Summary => "Remove all files and resources associated with an exited pod";

    public void DefineFlags(FlagSet flags) => _uuidFile = flags.String("uuid-file", string.Empty, "read pod UUID from file instead of argument");

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            PodStore store = PodCommandSupport.Store(context);
            var operations = new PodOperations(store, PodCommandSupport.Networking(context), context.Time);
            int exit = CommandLine.ExitOk;
            foreach (string uuid in PodCommandSupport.Uuids(args, _uuidFile.Value))
            {
                try
                {
                    PodEntry pod = store.Find(uuid);
                    await operations.RemoveAsync(pod, cancellationToken).ConfigureAwait(false);
                    context.Stdout.WriteLine($"\"{pod.Uuid}\"");
                }
                catch (Exception e) when (e is PodException or IOException)
                {
                    context.Error($"cannot remove \"{uuid}\": {e.Message}");
                    exit = CommandLine.ExitFailure;
                }
            }

            return exit;
        });
}
