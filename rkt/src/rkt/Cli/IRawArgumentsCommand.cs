namespace Platform.Rkt.Cli;

/// <summary>
/// A command whose arguments after the first positional one carry their own flags, like rkt's
/// <c>run IMAGE --exec=/bin/sh -- ARGS --- IMAGE2 ...</c>: only the flags before the first positional
/// argument are parsed by <see cref="CommandLine"/>; the rest reaches the command unparsed.
/// </summary>
internal interface IRawArgumentsCommand : ICommand
{
}
