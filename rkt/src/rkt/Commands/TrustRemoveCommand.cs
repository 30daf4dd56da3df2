using Platform.Common.Flags;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt trust remove [--prefix=PREFIX | --root] FINGERPRINT...</c> (beyond rkt 1.30).</summary>
internal sealed class TrustRemoveCommand : ICommand
{
    private Flag<string> _prefix = null!;
    private Flag<bool> _root = null!;

    public string Name => "trust remove";

    public string Usage => "[--prefix=PREFIX | --root] FINGERPRINT...";

    public string Summary => "Stop trusting keys (from the local configuration)";

    public void DefineFlags(FlagSet flags)
    {
        _prefix = flags.String("prefix", string.Empty, "the prefix the key is trusted for");
        _root = flags.Bool("root", false, "the key is a root key");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || (_prefix.Value.Length == 0) == !_root.Value)
        {
            context.Error("give exactly one of --prefix or --root, and at least one fingerprint");
            return Task.FromResult(CommandLine.ExitFailure);
        }

        int status = CommandLine.ExitOk;
        foreach (string fingerprint in args)
        {
            if (context.Trust.Remove(fingerprint, _root.Value ? null : _prefix.Value))
            {
                context.Stderr.WriteLine($"Removed key {fingerprint}");
            }
            else
            {
                context.Error($"no key {fingerprint} trusted for {(_root.Value ? "root" : "prefix \"" + _prefix.Value + "\"")} in {context.Globals.LocalConfig}");
                status = CommandLine.ExitFailure;
            }
        }

        return Task.FromResult(status);
    }
}
