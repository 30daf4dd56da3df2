using System.Net;
using Platform.Testing;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>
/// An HTTP server on 127.0.0.1 (a port from <see cref="FreePorts"/>) answering from a route table;
/// records every request path so tests can assert what was (not) fetched.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly Dictionary<string, Func<HttpListenerRequest, HttpListenerResponse, Task>> _routes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly LoopbackHttpServer _server;

    public LoopbackServer()
    {
        _server = new LoopbackHttpServer(HandleAsync);
    }

    public int Port => _server.Port;

    public string BaseUrl => _server.BaseUrl;

    public List<string> Requests { get; } = [];

    /// <summary>Serves <paramref name="body"/> at <paramref name="path"/> (with an ETag derived from its length).</summary>
    public void Serve(string path, byte[] body, string contentType = "application/octet-stream") =>
        Route(path, async (request, response) =>
        {
            string etag = $"\"{body.Length}-{body.Take(64).Sum(b => b)}\"";
            if (request.Headers["If-None-Match"] == etag)
            {
                response.StatusCode = 304;
                return;
            }

            response.Headers["ETag"] = etag;
            response.ContentType = contentType;
            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body);
        });

    public void Route(string path, Func<HttpListenerRequest, HttpListenerResponse, Task> handler)
    {
        lock (_lock)
        {
            _routes[path] = handler;
        }
    }

    public void Dispose() => _server.Dispose();

    private async Task HandleAsync(HttpListenerContext context)
    {
        string path = context.Request.Url!.AbsolutePath;
        Func<HttpListenerRequest, HttpListenerResponse, Task>? handler;
        lock (_lock)
        {
            Requests.Add(path + context.Request.Url.Query);
            _routes.TryGetValue(path, out handler);
        }

        if (handler is null)
        {
            context.Response.StatusCode = 404;
            return;
        }

        await handler(context.Request, context.Response);
    }
}
