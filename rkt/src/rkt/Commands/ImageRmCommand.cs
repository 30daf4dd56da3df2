using Platform.Common.Flags;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trees;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image rm IMAGE...</c>: removes images (by ID or name) and the rendered trees built from them
/// (rkt left those behind, rkt#2890). A tree in use by a pod keeps the removal from completing.
/// </summary>
internal sealed class ImageRmCommand : ICommand
{
    public string Name => "image rm";

    public string Usage => "IMAGEID...";

    public string Summary => "Remove one or more images with the given IDs or image names from the local store";

    public void DefineFlags(FlagSet flags)
    {
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count == 0)
        {
            context.Error("must provide at least one image ID");
            return Task.FromResult(CommandLine.ExitFailure);
        }

        int done = 0, failed = 0;
        foreach (string arg in args)
        {
            try
            {
                ImageInfo image = context.ResolveImage(arg);
                if (!RemoveImage(context, image))
                {
                    failed++;
                    continue;
                }

                context.Stderr.WriteLine($"successfully removed aci for image: \"{image.Id}\"");
                done++;
            }
            catch (CommandException e)
            {
                context.Error(e.Message);
                failed++;
            }
        }

        if (done > 0)
        {
            context.Stderr.WriteLine($"rm: {done} image(s) successfully removed");
        }

        if (failed > 0)
        {
            context.Stderr.WriteLine($"rm: {failed} image(s) cannot be removed");
            return Task.FromResult(CommandLine.ExitFailure);
        }

        return Task.FromResult(CommandLine.ExitOk);
    }

    /// <summary>Removes the image's trees, then the image; false (with a message) when a tree is in use.</summary>
    internal static bool RemoveImage(CommandContext context, ImageInfo image)
    {
        ITreeStore trees = context.Trees;
        foreach (TreeInfo tree in trees.List().Where(t => t.Images.Contains(image.Id)))
        {
            if (!trees.TryRemove(tree.Id))
            {
                context.Error($"image {image.Id} is in use by rendered tree {tree.Id}; not removing it");
                return false;
            }
        }

        return context.Store.Remove(image.Id);
    }
}
