using Platform.Rkt.Cli;
using Platform.Rkt.Cli.Commands;

namespace Platform.Rkt;

internal static class Program
{
    /// <summary>Every command, in the order help lists them. Issue 7's pod commands join this list.</summary>
    internal static IReadOnlyList<ICommand> Commands { get; } =
    [
        new FetchCommand(),
        new TrustCommand(),
        new TrustListCommand(),
        new TrustRemoveCommand(),
        new ImageListCommand(),
        new ImageRmCommand(),
        new ImageGcCommand(),
        new ImageExportCommand(),
        new ImageExtractCommand(),
        new ImageRenderCommand(),
        new ImageCatManifestCommand(),
        new ImageVerifyCommand(),
        new MetadataServiceCommand(),
        new ApiServiceCommand(),
        new VersionCommand(),
        new RunCommand(),
        new PrepareCommand(),
        new RunPreparedCommand(),
        new ListCommand(),
        new StatusCommand(),
        new EnterCommand(),
        new StopCommand(),
        new RmCommand(),
        new GcCommand(),
        new CatManifestCommand(),
        new ExportCommand(),
        new LogsCommand(),
    ];

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 2 && args[0] == PodCommandSupport.Stage1Verb)
        {
            // A pod's PID 1 (the default stage1), started by `rkt run` in the pod's namespaces.
            return Platform.Rkt.Stage1.Default.PodInit.Main(args[1]);
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        try
        {
            return await new CommandLine(Commands).RunAsync(args, Console.Out, Console.Error, Console.In, cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("rkt: interrupted").ConfigureAwait(false);
            return CommandLine.ExitFailure;
        }
    }
}
