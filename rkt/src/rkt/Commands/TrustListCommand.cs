using Platform.Common.Flags;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt trust list [--prefix=PREFIX | --root]</c> (beyond rkt 1.30): the trusted keys.</summary>
internal sealed class TrustListCommand : ICommand
{
    private Flag<string> _prefix = null!;
    private Flag<bool> _root = null!;

    public string Name => "trust list";

    public string Usage => "[--prefix=PREFIX | --root]";

    public string Summary => "List trusted keys (all, for one prefix, or root keys)";

    public void DefineFlags(FlagSet flags)
    {
        _prefix = flags.String("prefix", string.Empty, "only keys trusted for this prefix");
        _root = flags.Bool("root", false, "only root keys");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        bool all = _prefix.Value.Length == 0 && !_root.Value;
        IReadOnlyList<TrustedKey> keys = context.Trust.List(_prefix.Value.Length > 0 ? _prefix.Value : null, all);
        context.Stdout.WriteLine("PREFIX\tFINGERPRINT\tUSER IDS");
        foreach (TrustedKey key in keys)
        {
            context.Stdout.WriteLine($"{key.Prefix ?? "(root)"}\t{key.Fingerprint}\t{string.Join(", ", key.UserIds)}");
        }

        return Task.FromResult(CommandLine.ExitOk);
    }
}
