using System.Net;
using System.Net.Sockets;
using Platform.Linux.Netns;

namespace Platform.Kola.Netns.Flight;

/// <summary>
/// Sockets that live in a network namespace other than the harness's: created on a thread inside
/// it (a socket's namespace is fixed at creation) and used from anywhere afterwards. That is how the
/// harness talks to the flight's services and machines without any address on the host.
/// </summary>
internal static class NamespaceSockets
{
    /// <summary>An HttpClient whose every connection starts inside <paramref name="ns"/>.</summary>
    public static HttpClient CreateHttpClient(NetworkNamespace ns, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Socket socket = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = timeout };
    }

    /// <summary>A listening TCP socket bound to <paramref name="endpoint"/> inside <paramref name="ns"/>.</summary>
    public static Socket Listen(NetworkNamespace ns, IPEndPoint endpoint) => ns.Run(() =>
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(64);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });
}
