using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Fetching.Sources.Oci;
using Platform.Rkt.Images.Oci;
using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching.Sources.DockerRegistry;

/// <summary>
/// <c>docker://[REGISTRY/]REPOSITORY[:TAG|@DIGEST]</c> through the registry v2 API, stored natively
/// (the manifest's sha256 is the image ID). <c>--pull-policy=new</c> reuses a stored image with the
/// same name and tag; <c>update</c> asks the registry for the manifest and reuses the stored image if
/// the digest is unchanged; <c>never</c> only looks. HTTPS unless <c>--insecure-options=http</c>.
/// </summary>
internal sealed class DockerRegistrySource : IImageSource
{
    public IReadOnlyList<string> Schemes { get; } = ["docker"];

    public async Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken)
    {
        OciSource.RequireInsecureImage(context, reference.Original);
        DockerReference docker;
        try
        {
            docker = DockerReference.Parse(reference.Location);
        }
        catch (FormatException e)
        {
            throw new FetchException(e.Message, e);
        }

        if (docker.Digest is null && context.Options.PullPolicy != PullPolicy.Update)
        {
            ImageInfo? stored = context.Store.FindByName(docker.AppcName, new Dictionary<string, string> { ["version"] = docker.Tag });
            if (stored is not null)
            {
                context.Progress.Message($"image: using image from local store for image name {reference.Original}");
                return stored;
            }
        }
        else if (docker.Digest is { } pinned && context.Store.Find(pinned) is { Count: 1 } byDigest)
        {
            return byDigest[0];
        }

        if (context.Options.PullPolicy == PullPolicy.Never)
        {
            throw new FetchException($"image {reference.Original} is not in the store (--pull-policy=never)");
        }

        var client = new RegistryClient(context, docker);
        context.Progress.Message($"image: remote fetching from {docker.Registry}/{docker.Repository}:{docker.ManifestReference}");
        (byte[] body, string? mediaType, ImageDigest digest) = await client.GetManifestAsync(docker.ManifestReference, cancellationToken).ConfigureAwait(false);
        for (int depth = 0; MediaTypes.IsIndex(mediaType); depth++)
        {
            if (depth > 4)
            {
                throw new InvalidImageException("image indexes nest too deeply");
            }

            ImageIndex index = JsonSerializer.Deserialize(body, OciJsonContext.Default.ImageIndex) ?? throw new InvalidImageException("image index is null");
            Descriptor chosen = OciSource.SelectPlatform(index, context.Options, reference.Original);
            (body, mediaType, digest) = await client.GetManifestAsync(chosen.Digest, cancellationToken).ConfigureAwait(false);
        }

        if (!MediaTypes.IsManifest(mediaType))
        {
            throw new InvalidImageException($"unsupported manifest media type \"{mediaType}\" (schema 1 manifests are not supported)");
        }

        if (context.Store.Get(digest.StoreKey) is { } unchanged)
        {
            context.Progress.Message($"image: {reference.Original} is unchanged ({digest.OciString})");
            return unchanged;
        }

        return await OciImporter.ImportAsync(
            context.Store,
            reference.Original,
            docker.AppcName,
            docker.Digest is null ? docker.Tag : null,
            body,
            digest,
            client.GetBlobAsync,
            context.Progress,
            cancellationToken).ConfigureAwait(false);
    }
}
