using System.Net;
using Platform.Testing;

namespace Platform.Rkt.IntegrationTests;

/// <summary>A loopback HttpListener whose one handler sees every request.</summary>
internal sealed class HttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public HttpServer(Func<HttpListenerContext, Task> handler)
    {
        Port = FreePorts.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(async () =>
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

                _ = Task.Run(async () =>
                {
                    try
                    {
                        await handler(context);
                        context.Response.Close();
                    }
                    catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException or OperationCanceledException)
                    {
                    }
                });
            }
        });
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public void Dispose()
    {
        // Close alone: Stop first would drop the port's endpoint, and Close would then bind it again only to
        // remove it (managed HttpListener), failing with 'Address already in use' if the port was reused meanwhile.
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
