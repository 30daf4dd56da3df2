using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Platform.Testing;

namespace Platform.CloudInit.Tests.Datasources;

/// <summary>
/// A metadata service on 127.0.0.1 for one test: fixed responses by path, 404 for anything else,
/// optionally a header every request must carry (403 without it). Records the paths requested.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly Dictionary<string, (int Status, byte[] Body)> _routes = new(StringComparer.Ordinal);
    private readonly (string Name, string Value)? _requiredHeader;
    private readonly LoopbackHttpServer _server;

    public LoopbackServer((string Name, string Value)? requiredHeader = null)
    {
        _requiredHeader = requiredHeader;
        _server = new LoopbackHttpServer(AnswerAsync);
    }

    public string BaseUrl => _server.BaseUrl + "/";

    public ConcurrentQueue<string> Requests { get; } = new();

    public LoopbackServer Route(string path, string body, int status = 200) => Route(path, Encoding.UTF8.GetBytes(body), status);

    public LoopbackServer Route(string path, byte[] body, int status = 200)
    {
        lock (_routes)
        {
            _routes["/" + path.TrimStart('/')] = (status, body);
        }

        return this;
    }

    public void Dispose() => _server.Dispose();

    private async Task AnswerAsync(HttpListenerContext context)
    {
        string path = context.Request.Url!.AbsolutePath;
        Requests.Enqueue(path);
        (int status, byte[] body) = (404, []);
        if (_requiredHeader is (string name, string value) && context.Request.Headers[name] != value)
        {
            status = 403;
        }
        else
        {
            lock (_routes)
            {
                if (_routes.TryGetValue(path, out (int, byte[]) route))
                {
                    (status, body) = route;
                }
            }
        }

        context.Response.StatusCode = status;
        context.Response.KeepAlive = false;
        context.Response.ContentLength64 = body.Length;
        await context.Response.OutputStream.WriteAsync(body);
    }
}
