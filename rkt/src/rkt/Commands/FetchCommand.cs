using Platform.Common.Flags;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Cli.Commands;

/// <summary><c>rkt fetch IMAGE...</c>: fetches into the store and prints each image's ID.</summary>
internal sealed class FetchCommand : ICommand
{
    private Flag<string> _pullPolicy = null!;
    private Flag<string> _signature = null!;
    private Flag<bool> _full = null!;

    public string Name => "fetch";

    public string Usage => "IMAGE_URL...";

    public string Summary => "Fetch image(s) and store them in the local store";

    public void DefineFlags(FlagSet flags)
    {
        _pullPolicy = flags.String("pull-policy", "new", "when to pull an image: never, new or update");
        _signature = flags.String("signature", string.Empty, "local signature file to use in validating the preceding image");
        _full = flags.Bool("full", false, "print the full image hash after fetching");
    }

    public async Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count == 0)
        {
            context.Error("must provide at least one image");
            return CommandLine.ExitFailure;
        }

        PullPolicy policy = ParsePullPolicy(_pullPolicy.Value);
        IImageFetcher fetcher = context.CreateFetcher(policy, _signature.Value.Length > 0 ? _signature.Value : null);
        foreach (string image in args)
        {
            ImageInfo info = await fetcher.FetchAsync(image, cancellationToken).ConfigureAwait(false);
            context.Stdout.WriteLine(_full.Value ? info.Id : ShortHash(info.Id));
        }

        return CommandLine.ExitOk;
    }

    /// <summary>appc's <c>types.ShortHash</c>: the algorithm and 32 hex digits.</summary>
    internal static string ShortHash(string id) => id.Length > 39 ? id[..39] : id;

    internal static PullPolicy ParsePullPolicy(string value) => value switch
    {
        "never" => PullPolicy.Never,
        "new" => PullPolicy.New,
        "update" => PullPolicy.Update,
        _ => throw new CommandException($"invalid --pull-policy \"{value}\": must be never, new or update"),
    };
}
