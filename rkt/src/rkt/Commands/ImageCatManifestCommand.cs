using Platform.Common.Flags;
using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt image cat-manifest IMAGE [--pretty-print]</c>: the image's appc manifest.</summary>
internal sealed class ImageCatManifestCommand : ICommand
{
    private Flag<bool> _pretty = null!;

    public string Name => "image cat-manifest";

    public string Usage => "IMAGE";

    public string Summary => "Inspect and print the image manifest";

    public void DefineFlags(FlagSet flags)
    {
        _pretty = flags.Bool("pretty-print", true, "apply indent to format the output");
    }

    public Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count != 1)
        {
            context.Error("must provide one image");
            return Task.FromResult(CommandLine.ExitFailure);
        }

        string id = context.ResolveImage(args[0]).Id;
        byte[] raw = context.Store.GetManifestBytes(id);
        byte[] output = _pretty.Value ? ImageManifest.Parse(raw).ToJson(pretty: true) : raw;
        context.Stdout.WriteLine(System.Text.Encoding.UTF8.GetString(output));
        return Task.FromResult(CommandLine.ExitOk);
    }
}
