using System.Net;
using System.Net.Sockets;
using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP forwarder from a claimed local port to a target, which a test can cut: <see cref="Block"/>
/// closes every forwarded connection and stops listening (new connections are refused) until
/// <see cref="Unblock"/>. Lets a test decide exactly when a client is disconnected.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly int _targetPort;
    private readonly List<Socket> _sockets = [];
    private readonly Lock _lock = new();
    private TcpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        Port = FreePorts.Next();
        Unblock();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public void Block()
    {
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            foreach (Socket socket in _sockets)
            {
                socket.Dispose();
            }

            _sockets.Clear();
        }
    }

    public void Unblock()
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Start();
            _listener = listener;
            _acceptLoop = AcceptAsync(listener);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Block();
        await _acceptLoop;
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            Socket inbound;
            try
            {
                inbound = await listener.AcceptSocketAsync();
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
            {
                return; // Blocked.
            }

            var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await outbound.ConnectAsync(IPAddress.Loopback, _targetPort);
            }
            catch (SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }

            lock (_lock)
            {
                if (_listener != listener)
                {
                    inbound.Dispose();
                    outbound.Dispose();
                    return;
                }

                _sockets.Add(inbound);
                _sockets.Add(outbound);
            }

            _ = PumpAsync(inbound, outbound);
            _ = PumpAsync(outbound, inbound);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer);
                if (read == 0)
                {
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, read));
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Cut by Block or by either side.
        }

        from.Dispose();
        to.Dispose();
    }
}
