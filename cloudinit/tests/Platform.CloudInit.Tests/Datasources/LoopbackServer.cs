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
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, (int Status, byte[] Body)> _routes = new(StringComparer.Ordinal);
    private readonly (string Name, string Value)? _requiredHeader;
    private readonly Task _loop;

    public LoopbackServer((string Name, string Value)? requiredHeader = null)
    {
        _requiredHeader = requiredHeader;
        int port = FreePorts.Next();
        BaseUrl = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(BaseUrl);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string BaseUrl { get; }

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
            // The accept loop ends with an exception when the listener closes.
        }
    }

    private async Task ServeAsync()
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

            // Each request is answered on its own task so a slow client never holds up the next.
            _ = Task.Run(() => AnswerAsync(context));
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        try
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
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The test is over or the client went away; nothing to answer.
        }
    }
}
