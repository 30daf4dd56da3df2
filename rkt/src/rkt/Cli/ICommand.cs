using Platform.Common.Flags;

namespace Platform.Rkt.Cli;

/// <summary>
/// One rkt command (<c>fetch</c>, <c>image list</c>, …), one file each under <c>Commands/</c>.
/// Commands declare their own flags; the global ones are added by <see cref="CommandLine"/>.
/// </summary>
internal interface ICommand
{
    /// <summary>The words that select it, e.g. <c>image list</c>.</summary>
    public string Name { get; }

    /// <summary>The usage line after the name, e.g. <c>[--format=json] </c>.</summary>
    public string Usage { get; }

    /// <summary>One line for the command list.</summary>
    public string Summary { get; }

    public void DefineFlags(FlagSet flags);

    /// <summary>Runs with positional <paramref name="args"/>; returns the exit code.</summary>
    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken);
}
