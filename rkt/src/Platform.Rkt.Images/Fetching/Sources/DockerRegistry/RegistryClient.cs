using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Platform.Rkt.Images.Appc;
using Platform.Rkt.Images.Oci;

namespace Platform.Rkt.Images.Fetching.Sources.DockerRegistry;

/// <summary>
/// A Docker registry HTTP API v2 client for pulls: manifests (OCI index and manifest, Docker manifest
/// list and v2 schema 2) and blobs, with the token flow (<c>WWW-Authenticate: Bearer realm, service,
/// scope</c>; credentials from <c>auth.d</c> dockerAuth sent as Basic to the realm) and Basic auth.
/// Manifests are checked against <c>Docker-Content-Digest</c> or the requested digest; blobs are
/// verified by the importer.
/// </summary>
internal sealed class RegistryClient
{
    private static readonly string[] s_manifestTypes = [MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest];

    private readonly FetchContext _context;
    private readonly DockerReference _reference;
    private readonly string _scheme;
    private AuthenticationHeaderValue? _authorization;

    public RegistryClient(FetchContext context, DockerReference reference)
    {
        _context = context;
        _reference = reference;
        _scheme = (context.Options.Insecure & InsecureOptions.Http) != 0 ? "http" : "https";
    }

    /// <summary>GETs a manifest or index by tag or digest; returns its bytes, media type and digest.</summary>
    public async Task<(byte[] Body, string? MediaType, ImageDigest Digest)> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync($"manifests/{reference}", accept: s_manifestTypes, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (body.Length > 4 * 1024 * 1024)
        {
            throw new InvalidImageException($"manifest of {body.Length} bytes exceeds 4 MiB");
        }

        ImageDigest actual = ImageDigest.Sha256(SHA256.HashData(body));
        string? expected = reference.Contains(':', StringComparison.Ordinal) ? reference
            : response.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        if (expected is not null && ImageDigest.TryParse(expected, out ImageDigest claimed) && claimed.Algorithm == "sha256" && claimed != actual)
        {
            throw new InvalidImageException($"manifest {reference} does not match its digest {expected}");
        }

        string? mediaType = response.Content.Headers.ContentType?.MediaType;
        using JsonDocument doc = JsonDocument.Parse(body);
        if (doc.RootElement.TryGetProperty("mediaType", out JsonElement declared) && declared.GetString() is { } inBody)
        {
            mediaType = inBody;
        }

        return (body, mediaType, actual);
    }

    /// <summary>GETs a blob into <paramref name="path"/> with progress (redirects to storage followed).</summary>
    public async Task GetBlobAsync(Descriptor descriptor, string path, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync($"blobs/{descriptor.Digest}", accept: [], cancellationToken).ConfigureAwait(false);
        await using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        byte[] buffer = new byte[128 * 1024];
        long done = 0;
        string what = "Downloading " + descriptor.Digest[..Math.Min(19, descriptor.Digest.Length)];
        int n;
        while ((n = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            done += n;
            if (done > descriptor.Size && descriptor.Size > 0)
            {
                throw new InvalidImageException($"blob {descriptor.Digest} is larger than its descriptor's {descriptor.Size} bytes");
            }

            await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            _context.Progress.Progress(what, done, descriptor.Size);
        }

        _context.Progress.Progress(what, done, done);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, string[] accept, CancellationToken cancellationToken)
    {
        var uri = new Uri($"{_scheme}://{_reference.Registry}/v2/{_reference.Repository}/{path}");
        for (int attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (string type in accept)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            request.Headers.Authorization = _authorization;
            HttpResponseMessage response;
            try
            {
                response = await _context.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new FetchException($"GET {uri}: {e.Message}", e);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                AuthenticationHeaderValue? challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
                response.Dispose();
                _authorization = await AuthorizeAsync(challenge, uri, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                int status = (int)response.StatusCode;
                response.Dispose();
                throw new FetchException($"GET {uri}: bad HTTP status code: {status}{(status == 401 ? " (check the dockerAuth credentials in auth.d)" : string.Empty)}");
            }

            return response;
        }
    }

    private async Task<AuthenticationHeaderValue> AuthorizeAsync(AuthenticationHeaderValue? challenge, Uri uri, CancellationToken cancellationToken)
    {
        (string User, string Password)? credentials = _context.Options.Auth.DockerCredentialsFor(_reference.Registry)
            ?? (_reference.Registry == DockerReference.DockerHub ? _context.Options.Auth.DockerCredentialsFor("index.docker.io") : null);
        AuthenticationHeaderValue? basic = credentials is { } c
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{c.User}:{c.Password}")))
            : null;
        if (challenge is null)
        {
            throw new FetchException($"GET {uri}: 401 without a WWW-Authenticate challenge");
        }

        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic ?? throw new FetchException($"{_reference.Registry} asks for basic auth; add a dockerAuth entry to auth.d");
        }

        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new FetchException($"{_reference.Registry}: unsupported auth scheme {challenge.Scheme}");
        }

        Dictionary<string, string> parameters = ParseChallenge(challenge.Parameter ?? string.Empty);
        if (!parameters.TryGetValue("realm", out string? realm) || !Uri.TryCreate(realm, UriKind.Absolute, out Uri? realmUri))
        {
            throw new FetchException($"{_reference.Registry}: bearer challenge without a valid realm");
        }

        _context.CheckScheme(realmUri);
        var query = new List<string>();
        if (parameters.TryGetValue("service", out string? service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString(parameters.GetValueOrDefault("scope") ?? $"repository:{_reference.Repository}:pull"));
        var tokenUri = new UriBuilder(realmUri) { Query = string.Join('&', query) }.Uri;
        using var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
        request.Headers.Authorization = basic;
        using HttpResponseMessage response = await _context.Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new FetchException($"token request to {realmUri} failed: HTTP {(int)response.StatusCode}");
        }

        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        string? token = (doc.RootElement.TryGetProperty("token", out JsonElement t) ? t.GetString() : null)
            ?? (doc.RootElement.TryGetProperty("access_token", out JsonElement a) ? a.GetString() : null);
        return string.IsNullOrEmpty(token)
            ? throw new FetchException($"token response from {realmUri} has no token")
            : new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>Parses <c>realm="…",service="…",scope="…"</c> (quoted values may contain commas).</summary>
    internal static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            int eq = parameter.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }

            string key = parameter[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                int end = parameter.IndexOf('"', i + 1);
                end = end < 0 ? parameter.Length : end;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                int end = parameter.IndexOf(',', i);
                end = end < 0 ? parameter.Length : end;
                value = parameter[i..end].Trim();
                i = end;
            }

            result[key] = value;
        }

        return result;
    }
}
