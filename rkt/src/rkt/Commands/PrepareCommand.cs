using Platform.Common.Flags;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt prepare [flags] IMAGE ...</c>: a pod ready for <c>run-prepared</c>; prints its UUID.</summary>
internal sealed class PrepareCommand : IRawArgumentsCommand, IWholeValueFlags
{
    private readonly PodRunFlags _flags = new();

    public IReadOnlyCollection<string> WholeValueFlagNames => PodRunFlags.WholeValueFlagNames;

    public void AddWholeValue(string name, string value) => _flags.AddWholeValue(name, value);
    private Flag<bool> _quiet = null!;

    public string Name => "prepare";

    public string Usage => "[--volume=NAME,kind=KIND,source=PATH] IMAGE [image flags] [-- image-args...] [--- IMAGE ...]";

    public string Summary => "Prepare to run image(s) in a pod in rkt";

    public void DefineFlags(FlagSet flags)
    {
        _flags.Define(flags);
        _quiet = flags.Bool("quiet", false, "suppress superfluous output on stdout, print only the UUID on success");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            _ = _quiet.Value;
            PodSpec spec = await _flags.BuildAsync(context, args, cancellationToken).ConfigureAwait(false);
            PodStore store = PodCommandSupport.Store(context);
            (string uuid, FileLock podLock) = store.CreatePreparing();
            using (podLock)
            {
                new PodPreparer(context.Store, context.Trees).Prepare(spec, uuid, store.DirectoryOf("prepare", uuid));
                store.Move(uuid, "prepare", "prepared");
            }

            RunCommand.SaveUuid(_flags.UuidFileSave, uuid);
            context.Stdout.WriteLine(uuid);
            return CommandLine.ExitOk;
        });
}
