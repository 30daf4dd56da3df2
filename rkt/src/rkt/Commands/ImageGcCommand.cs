using Platform.Common.Flags;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image gc [--grace-period=24h]</c>: removes rendered trees no one holds (pods lease theirs),
/// images not used within the grace period, and blobs no image references (crash leftovers).
/// </summary>
internal sealed class ImageGcCommand : ICommand
{
    private Flag<TimeSpan> _gracePeriod = null!;

    public string Name => "image gc";

    public string Usage => "[--grace-period=duration]";

    public string Summary => "Garbage collect local store";

    public void DefineFlags(FlagSet flags)
    {
        _gracePeriod = flags.Duration("grace-period", TimeSpan.FromHours(24), "duration to wait since an image was last used before removing it");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        ITreeStore trees = context.Trees;
        foreach (TreeInfo tree in trees.List())
        {
            if (trees.TryRemove(tree.Id))
            {
                context.Stderr.WriteLine($"gc: removed treestore \"{tree.Id}\"");
            }
        }

        DateTimeOffset cutoff = context.Time.GetUtcNow() - _gracePeriod.Value;
        int removed = 0;
        foreach (ImageInfo image in context.Store.List().Where(i => i.LastUsed < cutoff))
        {
            if (ImageRmCommand.RemoveImage(context, image))
            {
                context.Stderr.WriteLine($"gc: successfully removed aci for image: \"{image.Id}\"");
                removed++;
            }
        }

        int orphans = context.Store.RemoveOrphanBlobs();
        context.Stderr.WriteLine($"gc: {removed} image(s) successfully removed{(orphans > 0 ? $", {orphans} orphan blob(s) deleted" : string.Empty)}");
        return Task.FromResult(CommandLine.ExitOk);
    }
}
