using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching.Sources.AciFile;

/// <summary>
/// ACIs from the local file system (a path or <c>file://</c>). The signature is <c>--signature</c>
/// or the file beside it with <c>.asc</c> appended. Local files are always read (the pull policy
/// concerns remote images), and importing an image already stored keeps the stored one.
/// </summary>
internal sealed class AciFileSource : IImageSource
{
    public IReadOnlyList<string> Schemes { get; } = ["file"];

    public Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken)
    {
        string path = Path.GetFullPath(reference.Location);
        if (!File.Exists(path))
        {
            throw new FetchException($"image file {reference.Location} does not exist");
        }

        string? signature = context.Options.SignaturePath ?? (File.Exists(path + ".asc") ? path + ".asc" : null);
        ImageInfo info = AciImporter.Import(context.Store, path, "file://" + path, context.Progress, manifest => context.VerifySignature(manifest, path, signature));
        return Task.FromResult(info);
    }
}
