using Platform.Common.Flags;
using Platform.Rkt.Images.Native;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt run [pod flags] IMAGE [image flags] [-- ARGS] [--- IMAGE ...]</c>: fetches the images, prepares a
/// pod and runs it in the foreground; exits with the pod's status (the first failing app's, else 0).
/// </summary>
internal sealed class RunCommand : IRawArgumentsCommand, IWholeValueFlags
{
    private readonly PodRunFlags _flags = new();

    public IReadOnlyCollection<string> WholeValueFlagNames => PodRunFlags.WholeValueFlagNames;

    public void AddWholeValue(string name, string value) => _flags.AddWholeValue(name, value);

    public string Name => "run";

    public string Usage => "[--volume=NAME,kind=KIND,source=PATH] [--net=...] IMAGE [--exec=CMD] [--name=NAME] [--mount=volume=V,target=PATH] [-- image-args...] [--- IMAGE ...]";

    public string Summary => "Run image(s) in a pod in rkt";

    public void DefineFlags(FlagSet flags) => _flags.Define(flags);

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, async () =>
        {
            PodSpec spec = await _flags.BuildAsync(context, args, cancellationToken).ConfigureAwait(false);
            PodStore store = PodCommandSupport.Store(context);
            (string uuid, FileLock podLock) = store.CreatePreparing();
            try
            {
                new PodPreparer(context.Store, context.Trees).Prepare(spec, uuid, store.DirectoryOf("prepare", uuid));
            }
            catch
            {
                podLock.Dispose(); // leaves an "aborted prepare" pod that gc removes, as rkt does
                throw;
            }

            PodRunner runner = PodCommandSupport.Runner(context, id => SaveUuid(_flags.UuidFileSave, id));
            return await runner.RunAsync(store, uuid, "prepare", podLock, cancellationToken).ConfigureAwait(false);
        });

    internal static void SaveUuid(string file, string uuid)
    {
        if (file.Length > 0)
        {
            File.WriteAllText(file, uuid);
        }
    }
}
