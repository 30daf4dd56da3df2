using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Rkt.Metadata;

/// <summary>
/// What stage0/stage1 use to tell the metadata service about a pod (rkt's registration protocol over
/// the unix socket): register the pod with its token (and IP), then each app with its image manifest;
/// unregister when the pod stops.
/// </summary>
public sealed class MetadataRegistrationClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="socketPath">The service's registration socket (rkt: <c>/run/rkt/metadata-svc.sock</c>).</param>
    public MetadataRegistrationClient(string socketPath = MetadataServiceOptions.DefaultRegistrationSocket)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://metadata-svc/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A fresh token of 256 random bits, URL-safe (appc asks for at least 128 and not the UUID).</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The <c>AC_METADATA_URL</c> for an app: <c>http://HOST:PORT/TOKEN</c>.</summary>
    public static string MetadataUrl(string host, int port, string token) => $"http://{host}:{port}/{token}";

    /// <summary>Registers (or re-registers) a pod.</summary>
    /// <param name="uuid">The pod's UUID.</param>
    /// <param name="token">The secret in the pod's <c>AC_METADATA_URL</c> (<see cref="NewToken"/>).</param>
    /// <param name="podManifestJson">The pod manifest as stage0 wrote it.</param>
    /// <param name="ip">The pod's address, for apps that query without a token; optional.</param>
    /// <param name="ct">Cancels the request.</param>
    /// <exception cref="HttpRequestException">The service is unreachable or refused (its message included).</exception>
    public Task RegisterPodAsync(Guid uuid, string token, ReadOnlyMemory<byte> podManifestJson, IPAddress? ip, CancellationToken ct)
    {
        string query = $"?token={Uri.EscapeDataString(token)}" + (ip is null ? string.Empty : $"&ip={Uri.EscapeDataString(ip.ToString())}");
        return SendAsync(HttpMethod.Put, $"pods/{uuid}{query}", podManifestJson, ct);
    }

    /// <summary>Registers an app of a registered pod with its image manifest.</summary>
    public Task RegisterAppAsync(Guid uuid, string appName, ReadOnlyMemory<byte> imageManifestJson, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"pods/{uuid}/{Uri.EscapeDataString(appName)}", imageManifestJson, ct);

    /// <summary>Forgets a pod; a pod the service does not know is not an error (idempotent).</summary>
    public async Task UnregisterPodAsync(Guid uuid, CancellationToken ct)
    {
        using HttpResponseMessage response = await _http.DeleteAsync(new Uri($"pods/{uuid}", UriKind.Relative), ct).ConfigureAwait(false);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.NotFound))
        {
            throw new HttpRequestException($"metadata service: unregister {uuid}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task SendAsync(HttpMethod method, string path, ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using HttpResponseMessage response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            string text = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false));
            throw new HttpRequestException($"metadata service: {method} /{path.Split('?')[0]}: {(int)response.StatusCode} {text}", null, response.StatusCode);
        }
    }
}
