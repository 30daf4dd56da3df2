using Platform.Common.Flags;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt version</c>.</summary>
internal sealed class VersionCommand : ICommand
{
    public string Name => "version";

    public string Usage => string.Empty;

    public string Summary => "Print the version and exit";

    public void DefineFlags(FlagSet flags)
    {
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        context.Stdout.WriteLine("rkt Version: 1.30.0+platform");
        context.Stdout.WriteLine("appc Version: 0.8.11");
        context.Stdout.WriteLine($".NET Version: {Environment.Version}");
        context.Stdout.WriteLine($"OS/Arch: linux/{new Images.Fetching.FetchOptions().Arch}");
        return Task.FromResult(CommandLine.ExitOk);
    }
}
