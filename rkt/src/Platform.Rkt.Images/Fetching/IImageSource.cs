using Platform.Rkt.Images.Store;

namespace Platform.Rkt.Images.Fetching;

/// <summary>
/// One way of getting images, registered by the schemes it handles (<c>file</c>, <c>http</c>,
/// <c>https</c>, <c>docker</c>, <c>docker-archive</c>, <c>oci</c>, <c>oci-archive</c>, and the empty
/// scheme for appc names through discovery). A source applies the pull policy, verifies what it
/// downloads and imports it through <see cref="IImageStore.BeginImport"/>, so a failed or killed fetch
/// leaves nothing behind.
/// </summary>
public interface IImageSource
{
    /// <summary>The schemes this source serves.</summary>
    public IReadOnlyList<string> Schemes { get; }

    /// <summary>Fetches <paramref name="reference"/> into the store and returns its record.</summary>
    /// <exception cref="FetchException">Not found, refused by policy, or a transport failure.</exception>
    /// <exception cref="Appc.InvalidImageException">The content is malformed or unsafe.</exception>
    /// <exception cref="Trust.SignatureException">The signature is missing or does not verify.</exception>
    public Task<ImageInfo> FetchAsync(ImageReference reference, FetchContext context, CancellationToken cancellationToken);
}

/// <summary>An image argument split into its scheme and the rest, as rkt's image finder sees it.</summary>
/// <param name="Scheme">See <see cref="IImageSource.Schemes"/>; <c>hash</c> for a store ID.</param>
/// <param name="Original">The argument as given.</param>
/// <param name="Location">What follows the scheme (a path, a URL, a reference or an appc name).</param>
public sealed record ImageReference(string Scheme, string Original, string Location)
{
    /// <summary>Classifies an image argument of <c>rkt fetch</c>/<c>rkt run</c>.</summary>
    public static ImageReference Parse(string image)
    {
        ArgumentException.ThrowIfNullOrEmpty(image);
        foreach (string scheme in (string[])["docker-archive", "oci-archive", "oci"])
        {
            if (image.StartsWith(scheme + ":", StringComparison.Ordinal))
            {
                return new ImageReference(scheme, image, image[(scheme.Length + 1)..]);
            }
        }

        if (image.StartsWith("docker://", StringComparison.Ordinal))
        {
            return new ImageReference("docker", image, image["docker://".Length..]);
        }

        if (image.StartsWith("http://", StringComparison.Ordinal) || image.StartsWith("https://", StringComparison.Ordinal))
        {
            return new ImageReference(image[..image.IndexOf(':', StringComparison.Ordinal)], image, image);
        }

        if (image.StartsWith("file://", StringComparison.Ordinal))
        {
            return new ImageReference("file", image, image["file://".Length..]);
        }

        if (image.StartsWith("sha512-", StringComparison.Ordinal) || image.StartsWith("sha256-", StringComparison.Ordinal) || image.StartsWith("sha256:", StringComparison.Ordinal))
        {
            return new ImageReference("hash", image, image);
        }

        if (image.StartsWith('/') || image.StartsWith("./", StringComparison.Ordinal) || image.StartsWith("../", StringComparison.Ordinal)
            || image.EndsWith(".aci", StringComparison.Ordinal) || File.Exists(image))
        {
            return new ImageReference("file", image, image);
        }

        return new ImageReference(string.Empty, image, image);
    }
}

/// <summary>A fetch failed for a reason other than bad content or a bad signature.</summary>
public sealed class FetchException : Exception
{
    public FetchException()
    {
    }

    public FetchException(string message)
        : base(message)
    {
    }

    public FetchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
