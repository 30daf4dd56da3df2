using Platform.Common.Flags;
using Platform.Rkt.Images.Archives;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image extract IMAGE DIR [--rootfs-only] [--overwrite]</c>: the image's own content (no
/// dependencies) into a new directory, under the same extraction rules as the store.
/// </summary>
internal sealed class ImageExtractCommand : ICommand
{
    private Flag<bool> _rootfsOnly = null!;
    private Flag<bool> _overwrite = null!;

    public string Name => "image extract";

    public string Usage => "IMAGE OUTPUT_DIR";

    public string Summary => "Extract a stored image to a directory";

    public void DefineFlags(FlagSet flags)
    {
        _rootfsOnly = flags.Bool("rootfs-only", false, "extract rootfs only");
        _overwrite = flags.Bool("overwrite", false, "overwrite output directory");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        Task.FromResult(Run(context, args, withDependencies: false, _rootfsOnly.Value, _overwrite.Value));

    /// <summary>Shared with <c>image render</c>.</summary>
    internal static int Run(CommandContext context, IReadOnlyList<string> args, bool withDependencies, bool rootfsOnly, bool overwrite)
    {
        if (args.Count != 2)
        {
            context.Error("must provide the image and an output directory");
            return CommandLine.ExitFailure;
        }

        ImageInfo image = context.ResolveImage(args[0]);
        string destination = Path.GetFullPath(args[1]);
        if (Path.Exists(destination))
        {
            if (!overwrite)
            {
                throw new CommandException($"output directory {args[1]} exists (use --overwrite)");
            }

            ImageStore.TryDeleteTree(destination);
        }

        context.Trees.RenderTo(image.Id, destination, rootfsOnly, withDependencies, ExtractionPolicy.ForCurrentUser(), context.Progress);
        context.Store.MarkUsed(image.Id);
        return CommandLine.ExitOk;
    }
}
