using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching.Sources.AciUrl;

/// <summary>
/// ACIs from <c>http(s)://</c> URLs, with the signature at the same URL plus <c>.asc</c>. The store
/// remembers each URL's image and ETag: <c>--pull-policy=new</c> reuses it, <c>update</c> revalidates
/// with If-None-Match, <c>never</c> only looks. Plain HTTP needs <c>--insecure-options=http</c>.
/// </summary>
internal sealed class AciUrlSource : IImageSource
{
    public IReadOnlyList<string> Schemes { get; } = ["http", "https"];

    public Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken)
    {
        var uri = new Uri(reference.Location);
        return FetchUrlAsync(uri, signatureUri: new Uri(reference.Location + ".asc"), context, expected: null, cancellationToken);
    }

    /// <summary>
    /// Fetches the ACI at <paramref name="aciUri"/> (also used by discovery). <paramref name="expected"/>
    /// is checked against the manifest's name and labels before commit.
    /// </summary>
    internal static async Task<ImageInfo> FetchUrlAsync(Uri aciUri, Uri? signatureUri, FetchContext context, Func<Appc.ImageManifest, string?>? expected, CancellationToken cancellationToken)
    {
        string url = aciUri.ToString();
        RemoteInfo? remote = context.Store.GetRemote(url);
        ImageInfo? stored = remote is null ? null : context.Store.Get(remote.ImageId);
        switch (context.Options.PullPolicy)
        {
            case PullPolicy.Never:
                return stored ?? throw new FetchException($"image {url} is not in the store (--pull-policy=never)");
            case PullPolicy.New when stored is not null:
                context.Progress.Message($"image: using image from local store for url {url}");
                return stored;
            default:
                break;
        }

        using ITempDirectory temp = context.Store.CreateTempDirectory();
        string aciPath = Path.Combine(temp.Path, "image.aci");
        context.Progress.Message($"image: remote fetching from URL \"{url}\"");
        DownloadResult result = await HttpDownloader.DownloadAsync(context, aciUri, aciPath, "Downloading ACI", stored is null ? null : remote!.ETag, cancellationToken).ConfigureAwait(false);
        if (result.NotModified && stored is not null)
        {
            context.Progress.Message($"image: image at {url} is unchanged (ETag {remote!.ETag})");
            return stored;
        }

        string? signaturePath = context.Options.SignaturePath;
        if (signaturePath is null && signatureUri is not null && (context.Options.Insecure & InsecureOptions.Image) == 0)
        {
            string candidate = Path.Combine(temp.Path, "image.aci.asc");
            if (await HttpDownloader.TryDownloadAsync(context, signatureUri, candidate, "Downloading signature", cancellationToken).ConfigureAwait(false))
            {
                signaturePath = candidate;
            }
        }

        ImageInfo info = AciImporter.Import(context.Store, aciPath, url, context.Progress, manifest =>
        {
            if (expected?.Invoke(manifest) is { } mismatch)
            {
                throw new Appc.InvalidImageException(mismatch);
            }

            context.VerifySignature(manifest, aciPath, signaturePath);
        });
        context.Store.SetRemote(new RemoteInfo { Url = url, ImageId = info.Id, ETag = result.ETag, DownloadTime = context.Store.Options.Time.GetUtcNow() });
        return info;
    }
}
