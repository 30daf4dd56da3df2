using Platform.Common.Flags;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt run-prepared UUID</c>: runs a pod made by <c>rkt prepare</c>.</summary>
internal sealed class RunPreparedCommand : ICommand
{
    private Flag<bool> _interactive = null!;
    private Flag<bool> _mdsRegister = null!;

    public string Name => "run-prepared";

    public string Usage => "UUID";

    public string Summary => "Run a prepared application pod in rkt";

    public void DefineFlags(FlagSet flags)
    {
        _interactive = flags.Bool("interactive", false, "run pod interactively (decided at prepare time; accepted for compatibility)");
        _mdsRegister = flags.Bool("mds-register", false, "register pod with the metadata service (decided at prepare time)");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            _ = (_interactive.Value, _mdsRegister.Value);
            if (args.Count != 1)
            {
                throw new CommandException("must provide exactly one pod UUID");
            }

            PodStore store = PodCommandSupport.Store(context);
            PodEntry pod = store.Find(args[0]);
            if (pod.State != PodStates.Prepared)
            {
                throw new PodException($"pod {pod.Uuid} is not prepared (state {pod.State})");
            }

            FileLock podLock = FileLock.TryAcquire(pod.Path, LockMode.Exclusive)
                ?? throw new PodException($"pod {pod.Uuid} is being used by another rkt process");
            if (!Directory.Exists(pod.Path))
            {
                podLock.Dispose();
                throw new PodException($"pod {pod.Uuid} was removed meanwhile");
            }

            PodRunner runner = PodCommandSupport.Runner(context);
            return await runner.RunAsync(store, pod.Uuid, "prepared", podLock, cancellationToken).ConfigureAwait(false);
        });
}
