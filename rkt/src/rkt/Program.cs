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
        new VersionCommand(),
    ];

    public static async Task<int> Main(string[] args)
    {
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
