using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching.Sources.AciFile;
using Platform.Rkt.Images.Fetching.Sources.AciUrl;
using Platform.Rkt.Images.Fetching.Sources.Discovery;
using Platform.Rkt.Images.Fetching.Sources.DockerArchive;
using Platform.Rkt.Images.Fetching.Sources.DockerRegistry;
using Platform.Rkt.Images.Fetching.Sources.Oci;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Images.Fetching;

/// <summary>Turns image arguments into images in the store (rkt's stage0 image finder).</summary>
public interface IImageFetcher
{
    /// <summary>
    /// Fetches <paramref name="image"/> (a path, URL, <c>docker://</c>, <c>docker-archive:</c>,
    /// <c>oci:</c>, <c>oci-archive:</c>, appc name or store ID) per the pull policy, then any ACI
    /// dependencies missing from the store. Returns the image's record.
    /// </summary>
    public Task<ImageInfo> FetchAsync(string image, CancellationToken cancellationToken = default);
}

/// <summary>Creates fetchers with the built-in sources.</summary>
public static class FetcherFactory
{
    /// <summary>A fetcher over <paramref name="store"/>; <paramref name="extraSources"/> add or override schemes.</summary>
    public static IImageFetcher Create(IImageStore store, ITrustStore trust, FetchOptions options, IEnumerable<IImageSource>? extraSources = null) =>
        new ImageFetcher(store, trust, options, extraSources ?? []);
}

internal sealed class ImageFetcher : IImageFetcher
{
    private readonly Dictionary<string, IImageSource> _sources = new(StringComparer.Ordinal);
    private readonly FetchContext _context;

    public ImageFetcher(IImageStore store, ITrustStore trust, FetchOptions options, IEnumerable<IImageSource> extraSources)
    {
        IImageSource[] builtIn =
        [
            new AciFileSource(),
            new AciUrlSource(),
            new DiscoverySource(),
            new OciSource(),
            new DockerArchiveSource(),
            new DockerRegistrySource(),
        ];
        foreach (IImageSource source in builtIn.Concat(extraSources))
        {
            foreach (string scheme in source.Schemes)
            {
                _sources[scheme] = source;
            }
        }

        _context = new FetchContext(store, trust, options, HttpDownloader.CreateClient(options), this);
    }

    public async Task<ImageInfo> FetchAsync(string image, CancellationToken cancellationToken = default)
    {
        ImageReference reference = ImageReference.Parse(image);
        ImageInfo info;
        if (reference.Scheme == "hash")
        {
            IReadOnlyList<ImageInfo> found = _context.Store.Find(reference.Location);
            info = found.Count switch
            {
                1 => found[0],
                0 => throw new FetchException($"image {image} is not in the store"),
                _ => throw new FetchException($"image ID {image} is ambiguous ({found.Count} images match)"),
            };
        }
        else if (_sources.TryGetValue(reference.Scheme, out IImageSource? source))
        {
            info = await source.FetchAsync(reference, _context, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new FetchException($"no image source handles \"{reference.Scheme}\" images");
        }

        if (info.Format == ImageFormat.Aci)
        {
            await FetchDependenciesAsync(info, depth: 0, cancellationToken).ConfigureAwait(false);
        }

        return info;
    }

    /// <summary>ACI dependencies missing from the store, fetched by name through discovery, depth-first.</summary>
    private async Task FetchDependenciesAsync(ImageInfo image, int depth, CancellationToken cancellationToken)
    {
        if (depth > 32)
        {
            throw new InvalidImageException($"image dependencies nest deeper than 32 (a cycle?) at {image.Name}");
        }

        ImageManifest manifest = _context.Store.GetManifest(image.Id);
        foreach (Dependency dependency in manifest.Dependencies ?? [])
        {
            ImageInfo? present = dependency.ImageId is { } id
                ? (_context.Store.Find(id) is { Count: > 0 } byId ? byId[0] : null)
                : _context.Store.FindByName(dependency.ImageName, (dependency.Labels ?? []).ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal));
            if (present is null)
            {
                string app = dependency.ImageName + string.Concat((dependency.Labels ?? []).Select(l => l.Name == "version" ? ":" + l.Value : $",{l.Name}={l.Value}"));
                _context.Progress.Message($"image: fetching dependency {app}");
                present = await _sources[string.Empty].FetchAsync(ImageReference.Parse(app), _context, cancellationToken).ConfigureAwait(false);
                if (dependency.ImageId is { } pinned && !present.Digest.StartsWith(pinned, StringComparison.Ordinal))
                {
                    throw new InvalidImageException($"dependency {dependency.ImageName} has image ID {present.Digest}, not the pinned {pinned}");
                }
            }

            await FetchDependenciesAsync(present, depth + 1, cancellationToken).ConfigureAwait(false);
        }
    }
}
