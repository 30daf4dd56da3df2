using System.Net;
using System.Net.Http.Headers;

namespace Platform.Rkt.Images.Fetching;

/// <summary>Downloads to files with progress, auth.d credentials and conditional requests.</summary>
internal static class HttpDownloader
{
    /// <summary>The client every source shares: redirects (up to 10) followed; TLS checked unless insecure.</summary>
    public static HttpClient CreateClient(FetchOptions options)
    {
        HttpMessageHandler handler = options.HttpHandler ?? new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.None,
            SslOptions = (options.Insecure & InsecureOptions.Tls) != 0
#pragma warning disable CA5359 // --insecure-options=tls is the user's explicit request to skip certificate checks.
                ? new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true }
#pragma warning restore CA5359
                : new System.Net.Security.SslClientAuthenticationOptions(),
        };
        var client = new HttpClient(handler, disposeHandler: options.HttpHandler is null) { Timeout = options.HttpTimeout };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("rkt", "1.30.0"));
        return client;
    }

    /// <summary>
    /// GETs <paramref name="uri"/> into <paramref name="path"/>. Returns the response's ETag, or
    /// <c>NotModified</c> when <paramref name="etag"/> still matches (nothing written).
    /// </summary>
    /// <exception cref="FetchException">A non-success status or a transport error.</exception>
    public static async Task<DownloadResult> DownloadAsync(
        FetchContext context, Uri uri, string path, string what, string? etag, CancellationToken cancellationToken)
    {
        context.CheckScheme(uri);
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (context.Options.Auth.HeaderFor(uri.Host) is { } auth)
        {
            request.Headers.Authorization = auth;
        }

        if (etag is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", etag);
        }

        HttpResponseMessage response;
        try
        {
            response = await context.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new FetchException($"GET {uri}: {e.Message}", e);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotModified)
            {
                return new DownloadResult(NotModified: true, etag, 0);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new FetchException($"GET {uri}: bad HTTP status code: {(int)response.StatusCode}");
            }

            if (response.RequestMessage?.RequestUri is { } final && final != uri)
            {
                context.CheckScheme(final);
            }

            long? total = response.Content.Headers.ContentLength;
            long done = 0;
            await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                byte[] buffer = new byte[128 * 1024];
                int n;
                while ((n = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    done += n;
                    context.Progress.Progress(what, done, total);
                }
            }

            context.Progress.Progress(what, done, done);
            return new DownloadResult(NotModified: false, response.Headers.ETag?.ToString(), done);
        }
    }

    /// <summary>Like <see cref="DownloadAsync"/> but a 404 yields false instead of an exception.</summary>
    public static async Task<bool> TryDownloadAsync(FetchContext context, Uri uri, string path, string what, CancellationToken cancellationToken)
    {
        try
        {
            await DownloadAsync(context, uri, path, what, null, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (FetchException e) when (e.Message.EndsWith(": 404", StringComparison.Ordinal))
        {
            return false;
        }
    }
}

internal readonly record struct DownloadResult(bool NotModified, string? ETag, long Bytes);
