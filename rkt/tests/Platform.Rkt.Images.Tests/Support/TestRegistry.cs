using System.Text;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>
/// A minimal Docker registry v2 on loopback: manifests by tag and digest, blobs, and the bearer token
/// flow (a 401 challenge naming <c>/token</c>, which wants Basic <c>user:secret</c> when
/// <see cref="RequireCredentials"/>).
/// </summary>
internal sealed class TestRegistry : IDisposable
{
    private const string Token = "test-token-123";
    private readonly LoopbackServer _server = new();

    public TestRegistry()
    {
        _server.Route("/token", (request, response) =>
        {
            string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:secret"));
            if (RequireCredentials && request.Headers["Authorization"] != expected)
            {
                response.StatusCode = 401;
                return Task.CompletedTask;
            }

            TokenScopes.Add(request.QueryString["scope"] ?? string.Empty);
            byte[] body = Encoding.UTF8.GetBytes($"{{\"token\":\"{Token}\"}}");
            return response.OutputStream.WriteAsync(body).AsTask();
        });
    }

    public string Host => $"127.0.0.1:{_server.Port}";

    public bool RequireCredentials { get; set; }

    public List<string> TokenScopes { get; } = [];

    public List<string> Requests => _server.Requests;

    /// <summary>Publishes <paramref name="image"/> as <paramref name="repository"/>:<paramref name="tag"/>.</summary>
    public void Push(string repository, string tag, TestOciImage image)
    {
        ServeManifest($"/v2/{repository}/manifests/{tag}", image.Manifest, image.ManifestDigest);
        ServeManifest($"/v2/{repository}/manifests/{image.ManifestDigest}", image.Manifest, image.ManifestDigest);
        ServeBlob($"/v2/{repository}/blobs/{image.ConfigDigest}", image.Config);
        foreach ((string digest, byte[] blob) in image.Layers)
        {
            ServeBlob($"/v2/{repository}/blobs/{digest}", blob);
        }
    }

    public void Dispose() => _server.Dispose();

    private void ServeManifest(string path, byte[] body, string digest) =>
        _server.Route(path, async (request, response) =>
        {
            if (!Authorized(request, response))
            {
                return;
            }

            response.ContentType = "application/vnd.oci.image.manifest.v1+json";
            response.Headers["Docker-Content-Digest"] = digest;
            await response.OutputStream.WriteAsync(body);
        });

    private void ServeBlob(string path, byte[] body) =>
        _server.Route(path, async (request, response) =>
        {
            if (!Authorized(request, response))
            {
                return;
            }

            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body);
        });

    private bool Authorized(System.Net.HttpListenerRequest request, System.Net.HttpListenerResponse response)
    {
        if (request.Headers["Authorization"] == "Bearer " + Token)
        {
            return true;
        }

        response.StatusCode = 401;
        response.Headers["WWW-Authenticate"] = $"Bearer realm=\"http://{Host}/token\",service=\"test-registry\",scope=\"repository:{request.Url!.AbsolutePath.Split('/')[2]}/{request.Url.AbsolutePath.Split('/')[3]}:pull\"";
        return false;
    }
}
