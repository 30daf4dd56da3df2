using Platform.Common.Flags;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt image render IMAGE DIR [--rootfs-only] [--overwrite]</c>: the image as an app would see it:
/// dependencies applied depth-first, then the image, then its <c>pathWhitelist</c>.
/// </summary>
internal sealed class ImageRenderCommand : ICommand
{
    private Flag<bool> _rootfsOnly = null!;
    private Flag<bool> _overwrite = null!;

    public string Name => "image render";

    public string Usage => "IMAGE OUTPUT_DIR";

    public string Summary => "Render a stored image to a directory with all its dependencies";

    public void DefineFlags(FlagSet flags)
    {
        _rootfsOnly = flags.Bool("rootfs-only", false, "render rootfs only");
        _overwrite = flags.Bool("overwrite", false, "overwrite output directory");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        Task.FromResult(ImageExtractCommand.Run(context, args, withDependencies: true, _rootfsOnly.Value, _overwrite.Value));
}
