using Platform.Common.Flags;
using Platform.Rkt.Pods;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt enter [--app=APP] UUID [CMD [ARGS...]]</c>: runs a command inside a running pod's app (default <c>/bin/sh</c>).</summary>
internal sealed class EnterCommand : IRawArgumentsCommand
{
    private Flag<string> _app = null!;

    public string Name => "enter";

    public string Usage => "[--app=APPNAME] UUID [CMD [ARGS ...]]";

    public string Summary => "Enter the namespaces of an app within a rkt pod";

    public void DefineFlags(FlagSet flags) => _app = flags.String("app", string.Empty, "name of the app to enter within the specified pod");

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        PodCommandSupport.GuardAsync(context, () =>
        {
            if (args.Count == 0)
            {
                throw new CommandException("must provide a pod UUID");
            }

            PodEntry pod = PodCommandSupport.Store(context).Find(args[0]);
            context.Stdout.Flush();
            return Task.FromResult(PodOperations.Enter(pod, _app.Value.Length > 0 ? _app.Value : null, args.Skip(1).ToList()));
        });
}
