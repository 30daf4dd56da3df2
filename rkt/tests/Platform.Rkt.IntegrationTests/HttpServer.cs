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
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
