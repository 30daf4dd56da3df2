using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Store;
using Platform.Rkt.Images.Trust;

namespace Platform.Rkt.Images.Fetching;

/// <summary>What every <see cref="IImageSource"/> works with during one fetch.</summary>
public sealed class FetchContext
{
    internal FetchContext(IImageStore store, ITrustStore trust, FetchOptions options, HttpClient http, IImageFetcher fetcher)
    {
        Store = store;
        Trust = trust;
        Options = options;
        Http = http;
        Fetcher = fetcher;
    }

    public IImageStore Store { get; }

    public ITrustStore Trust { get; }

    public FetchOptions Options { get; }

    /// <summary>Shared client; redirects followed, TLS per <see cref="InsecureOptions.Tls"/>.</summary>
    public HttpClient Http { get; }

    /// <summary>For fetching dependencies.</summary>
    public IImageFetcher Fetcher { get; }

    public IProgressSink Progress => Options.Progress;

    /// <summary>
    /// Verifies the detached signature <paramref name="signaturePath"/> of the ACI file
    /// <paramref name="aciPath"/> for <paramref name="manifest"/>'s name, unless
    /// <c>--insecure-options=image</c>.
    /// </summary>
    /// <exception cref="SignatureException">Missing or not verifying.</exception>
    public void VerifySignature(ImageManifest manifest, string aciPath, string? signaturePath)
    {
        if ((Options.Insecure & InsecureOptions.Image) != 0)
        {
            Progress.Message("image: signature verification disabled (--insecure-options=image)");
            return;
        }

        if (signaturePath is null || !File.Exists(signaturePath))
        {
            throw new SignatureException($"no signature found for image {manifest.Name}; refusing it without --insecure-options=image");
        }

        using FileStream signed = File.OpenRead(aciPath);
        using FileStream signature = File.OpenRead(signaturePath);
        TrustedKey key = Trust.Verify(manifest.Name, signed, signature);
        Progress.Message($"image: signature verified:\n  {string.Join("\n  ", key.UserIds)}");
    }

    /// <summary>Refuses plain HTTP to <paramref name="uri"/> unless <c>--insecure-options=http</c>.</summary>
    /// <exception cref="FetchException">Plain HTTP without the option.</exception>
    public void CheckScheme(Uri uri)
    {
        if (uri.Scheme == Uri.UriSchemeHttp && (Options.Insecure & InsecureOptions.Http) == 0)
        {
            throw new FetchException($"refusing plain HTTP for {uri} (use --insecure-options=http)");
        }
    }
}
