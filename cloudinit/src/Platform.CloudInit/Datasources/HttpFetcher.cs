using System.Net;

namespace Platform.CloudInit.Datasources;

/// <summary>
/// HTTP GET with retries as coreos-cloudinit's pkg/http_client: 404 means "no such data" (null),
/// other 4xx fail at once, 5xx and connection errors are retried with exponential backoff.
/// </summary>
internal sealed class HttpFetcher
{
    private readonly DatasourceOptions _options;

    public HttpFetcher(DatasourceOptions options)
    {
        _options = options;
    }

    /// <summary>One attempt; true when the URL answers 2xx.</summary>
    public async Task<bool> ProbeAsync(Uri url, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        try
        {
            using HttpRequestMessage request = Request(url, headers);
            using HttpResponseMessage response = await _options.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The body, or null on 404.</summary>
    /// <exception cref="DatasourceException">A non-retryable status or retries exhausted.</exception>
    public async Task<byte[]?> GetAsync(Uri url, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        TimeSpan backoff = _options.HttpInitialBackoff;
        string lastError = "no attempt made";
        for (int attempt = 1; attempt <= _options.HttpAttempts; attempt++)
        {
            try
            {
                using HttpRequestMessage request = Request(url, headers);
                using HttpResponseMessage response = await _options.HttpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return null;
                }

                if (response.IsSuccessStatusCode)
                {
                    return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                }

                lastError = $"{url} returned {(int)response.StatusCode}";
                if ((int)response.StatusCode < 500)
                {
                    throw new DatasourceException($"Not retrying {url}: {(int)response.StatusCode}");
                }
            }
            catch (HttpRequestException e)
            {
                lastError = $"{url}: {e.Message}";
            }

            if (attempt < _options.HttpAttempts)
            {
                await Task.Delay(backoff, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                backoff = backoff * 2 > _options.HttpMaxBackoff ? _options.HttpMaxBackoff : backoff * 2;
            }
        }

        throw new DatasourceException($"Unable to fetch data: {lastError}");
    }

    private static HttpRequestMessage Request(Uri url, IReadOnlyDictionary<string, string>? headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (headers is not null)
        {
            foreach (KeyValuePair<string, string> header in headers)
            {
                request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return request;
    }
}
