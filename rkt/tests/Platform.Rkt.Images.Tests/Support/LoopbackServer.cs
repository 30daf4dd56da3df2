using System.Net;
using Platform.Testing;

namespace Platform.Rkt.Images.Tests.Support;

/// <summary>
/// An HTTP server on 127.0.0.1 (a port from <see cref="FreePorts"/>) answering from a route table;
/// records every request path so tests can assert what was (not) fetched.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, Func<HttpListenerRequest, HttpListenerResponse, Task>> _routes = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private readonly Lock _lock = new();

    public LoopbackServer()
    {
        Port = FreePorts.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

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

    public void Dispose()
    {
        // Close alone: Stop first would drop the port's endpoint, and Close would then bind it again only to
        // remove it (managed HttpListener), failing with 'Address already in use' if the port was reused meanwhile.
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        string path = context.Request.Url!.AbsolutePath;
        Func<HttpListenerRequest, HttpListenerResponse, Task>? handler;
        lock (_lock)
        {
            Requests.Add(path + context.Request.Url.Query);
            _routes.TryGetValue(path, out handler);
        }

        try
        {
            if (handler is null)
            {
                context.Response.StatusCode = 404;
            }
            else
            {
                await handler(context.Request, context.Response);
            }
        }
        catch (HttpListenerException)
        {
        }
        finally
        {
            try
            {
                context.Response.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
