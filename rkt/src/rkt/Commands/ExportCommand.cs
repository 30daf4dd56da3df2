using Platform.Common.Flags;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt export [--app=NAME] [--overwrite] UUID OUTPUT.aci</c> (rkt 1.30): an exited pod's app root, with
/// the app's changes, as a gzipped ACI carrying the app's image manifest.
/// </summary>
internal sealed class ExportCommand : ICommand
{
    private Flag<string> _app = null!;
    private Flag<bool> _overwrite = null!;

    public string Name => "export";

    public string Usage => "[--app=APPNAME] UUID OUTPUT_ACI_FILE";

    public string Summary => "Export an app from an exited pod to an ACI file";

    public void DefineFlags(FlagSet flags)
    {
        _app = flags.String("app", string.Empty, "name of the app to export within the specified pod");
        _overwrite = flags.Bool("overwrite", false, "overwrite output ACI");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, () =>
        {
            if (args.Count != 2)
            {
                throw new CommandException($"usage: rkt export {Usage}");
            }

            new PodExporter(PodCommandSupport.Store(context), context.Trees).Export(args[0], _app.Value, args[1], _overwrite.Value);
            return Task.FromResult(CommandLine.ExitOk);
        });
}
