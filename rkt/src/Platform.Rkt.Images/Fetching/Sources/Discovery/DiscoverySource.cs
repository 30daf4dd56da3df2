using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching.Sources.AciUrl;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching.Sources.Discovery;

/// <summary>
/// appc names (<c>example.com/app:1.0</c>) through meta discovery. The store is consulted first under
/// <c>--pull-policy=new</c> (name and labels; <c>os</c> and <c>arch</c> default to this machine's), only
/// under <c>never</c>. The fetched manifest's name and labels must match the request. With
/// <c>--trust-keys-from-https</c>, keys discovered over HTTPS are trusted for the name on first use.
/// </summary>
internal sealed class DiscoverySource : IImageSource
{
    public IReadOnlyList<string> Schemes { get; } = [string.Empty];

    public async Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken)
    {
        AppReference requested;
        try
        {
            requested = AppReference.Parse(reference.Location);
        }
        catch (FormatException e)
        {
            throw new FetchException(e.Message, e);
        }

        var labels = new Dictionary<string, string>(requested.Labels, StringComparer.Ordinal);
        labels.TryAdd("os", context.Options.Os);
        labels.TryAdd("arch", context.Options.Arch);
        var storeLabels = new Dictionary<string, string>(labels, StringComparer.Ordinal);
        if (context.Options.PullPolicy != PullPolicy.Update)
        {
            ImageInfo? stored = context.Store.FindByName(requested.Name, requested.Labels)
                ?? context.Store.FindByName(requested.Name, storeLabels);
            if (stored is not null)
            {
                context.Progress.Message($"image: using image from local store for image name {reference.Original}");
                return stored;
            }

            if (context.Options.PullPolicy == PullPolicy.Never)
            {
                throw new FetchException($"image {reference.Original} is not in the store (--pull-policy=never)");
            }
        }

        bool defaultedVersion = labels.TryAdd("version", "latest");
        var app = new AppReference(requested.Name, labels);
        context.Progress.Message($"image: searching for app image {reference.Original}");
        DiscoveryResult discovered = await AppcDiscovery.DiscoverAsync(app, context.Http, context.Options.Insecure, context.Options.DiscoveryPort, publicKeysOnly: false, cancellationToken).ConfigureAwait(false);
        await MaybeTrustKeysAsync(app, discovered, context, cancellationToken).ConfigureAwait(false);
        var errors = new List<string>();
        foreach (AciEndpoint endpoint in discovered.AciEndpoints)
        {
            try
            {
                return await AciUrlSource.FetchUrlAsync(endpoint.Aci, endpoint.Signature, context, manifest => Mismatch(manifest, app, defaultedVersion), cancellationToken).ConfigureAwait(false);
            }
            catch (FetchException e)
            {
                errors.Add(e.Message);
            }
        }

        throw new FetchException($"no discovered endpoint served {reference.Original}:\n  {string.Join("\n  ", errors)}");
    }

    /// <summary>The spec's rule: the fetched image's name and labels must be the requested ones.</summary>
    private static string? Mismatch(ImageManifest manifest, AppReference app, bool defaultedVersion)
    {
        if (manifest.Name != app.Name)
        {
            return $"discovered image is named {manifest.Name}, not the requested {app.Name}";
        }

        foreach ((string name, string value) in app.Labels)
        {
            if (name == "version" && defaultedVersion)
            {
                continue;
            }

            if (manifest.GetLabel(name) is { } actual && actual != value)
            {
                return $"discovered image {manifest.Name} has label {name}={actual}, not the requested {value}";
            }
        }

        return null;
    }

    private static async Task MaybeTrustKeysAsync(AppReference app, DiscoveryResult discovered, FetchContext context, CancellationToken cancellationToken)
    {
        if (!context.Options.TrustKeysFromHttps || (context.Options.Insecure & InsecureOptions.Image) != 0)
        {
            return;
        }

        bool anyTrusted = Enumerable.Range(1, app.Name.Split('/').Length)
            .Select(n => string.Join('/', app.Name.Split('/')[..n]))
            .Any(prefix => context.Trust.List(prefix, all: false).Count > 0) || context.Trust.List(null, all: false).Count > 0;
        if (anyTrusted)
        {
            return;
        }

        foreach (Uri key in discovered.PublicKeys)
        {
            if (key.Scheme != Uri.UriSchemeHttps && (context.Options.Insecure & InsecureOptions.PubKey) == 0)
            {
                context.Progress.Message($"image: not trusting key {key} fetched over {key.Scheme} (use --insecure-options=pubkey)");
                continue;
            }

            byte[] armored = await context.Http.GetByteArrayAsync(key, cancellationToken).ConfigureAwait(false);
            Trust.TrustedKey added = context.Trust.Add(armored, app.Name);
            context.Progress.Message($"image: trusting key {added.Fingerprint} for prefix \"{app.Name}\" from {key} (--trust-keys-from-https)");
        }
    }
}
