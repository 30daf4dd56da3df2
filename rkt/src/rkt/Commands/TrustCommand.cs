using Platform.Common.Flags;
using Platform.Rkt.Images.Fetching;
using Platform.Rkt.Images.Fetching.Sources.Discovery;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Cli.Commands;

/// <summary>
/// <c>rkt trust [--prefix=PREFIX | --root] [PUBKEY...]</c>: trusts keys from files or URLs, or, with a
/// prefix and no keys, the keys discovery announces (<c>ac-discovery-pubkeys</c>). Unless
/// <c>--skip-fingerprint-review</c>, each fingerprint is shown and must be confirmed with "yes".
/// </summary>
internal sealed class TrustCommand : ICommand
{
    private Flag<string> _prefix = null!;
    private Flag<bool> _root = null!;
    private Flag<bool> _skipReview = null!;
    private Flag<bool> _insecureAllowHttp = null!;

    public string Name => "trust";

    public string Usage => "[--prefix=PREFIX] [--root] [--skip-fingerprint-review] [PUBKEY ...]";

    public string Summary => "Trust a key for image verification";

    public void DefineFlags(FlagSet flags)
    {
        _prefix = flags.String("prefix", string.Empty, "prefix to limit trust to");
        _root = flags.Bool("root", false, "add root key from filesystem without a prefix");
        _skipReview = flags.Bool("skip-fingerprint-review", false, "accept key without fingerprint confirmation");
        _insecureAllowHttp = flags.Bool("insecure-allow-http", false, "allow HTTP use for key discovery and/or retrieval");
    }

    public async Task<int> RunAsync(CommandContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        string? prefix = _prefix.Value.Length > 0 ? _prefix.Value : null;
        if (prefix is null && !_root.Value)
        {
            context.Error("--prefix required");
            return CommandLine.ExitFailure;
        }

        if (prefix is not null && _root.Value)
        {
            context.Error("--root and --prefix usage mutually exclusive");
            return CommandLine.ExitFailure;
        }

        InsecureOptions insecure = context.Globals.Insecure | (_insecureAllowHttp.Value ? InsecureOptions.Http | InsecureOptions.PubKey : InsecureOptions.None);
        var options = new FetchOptions { Insecure = insecure };
        using HttpClient http = new(new SocketsHttpHandler { AllowAutoRedirect = true });
        var locations = args.ToList();
        if (locations.Count == 0)
        {
            if (prefix is null)
            {
                context.Error("--root requires a key file or URL");
                return CommandLine.ExitFailure;
            }

            DiscoveryResult discovered = await AppcDiscovery.DiscoverAsync(
                new AppReference(prefix, new Dictionary<string, string>()), http, insecure, options.DiscoveryPort, publicKeysOnly: true, cancellationToken).ConfigureAwait(false);
            locations.AddRange(discovered.PublicKeys.Select(u => u.ToString()));
        }

        ITrustStore trust = context.Trust;
        foreach (string location in locations)
        {
            byte[] armored = await ReadKeyAsync(location, http, insecure, cancellationToken).ConfigureAwait(false);
            TrustedKey inspected = trust.Inspect(armored);
            if (!_skipReview.Value && !Review(context, prefix, location, inspected))
            {
                context.Error("not trusting key");
                return CommandLine.ExitFailure;
            }

            if (!_skipReview.Value)
            {
                context.Stderr.WriteLine($"Trusting \"{location}\" for prefix \"{prefix}\" after fingerprint review.");
            }

            TrustedKey added = trust.Add(armored, prefix);
            context.Stderr.WriteLine(prefix is null
                ? $"Added root key at \"{added.Path}\""
                : $"Added key for prefix \"{prefix}\" at \"{added.Path}\"");
        }

        return CommandLine.ExitOk;
    }

    private static bool Review(CommandContext context, string? prefix, string location, TrustedKey key)
    {
        context.Stderr.WriteLine(prefix is null ? "Root key" : $"Prefix: \"{prefix}\"");
        context.Stderr.WriteLine($"Key: \"{location}\"");
        context.Stderr.WriteLine($"GPG key fingerprint is: {string.Join(' ', key.Fingerprint.ToUpperInvariant().Chunk(4).Select(c => new string(c)))}");
        foreach (string userId in key.UserIds)
        {
            context.Stderr.WriteLine($"\t{userId}");
        }

        context.Stderr.Write("Are you sure you want to trust this key (yes/no)? ");
        return context.Stdin.ReadLine()?.Trim() is "yes";
    }

    private static async Task<byte[]> ReadKeyAsync(string location, HttpClient http, InsecureOptions insecure, CancellationToken cancellationToken)
    {
        if (Uri.TryCreate(location, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https")
        {
            if (uri.Scheme == "http" && (insecure & InsecureOptions.PubKey) == 0)
            {
                throw new CommandException($"refusing to fetch key {location} over plain HTTP (use --insecure-allow-http)");
            }

            try
            {
                return await http.GetByteArrayAsync(uri, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new CommandException($"cannot fetch key {location}: {e.Message}", e);
            }
        }

        string path = uri is { Scheme: "file" } ? uri.LocalPath : location;
        return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
    }
}
