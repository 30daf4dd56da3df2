using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Platform.Etcd.Robustness.Harness;
using Platform.Testing;

namespace Platform.Etcd.Robustness.Tests.Harness;

/// <summary>
/// The peer proxy in front of an echo server. This test process plays member 0 (its PID is member
/// 0's), so its connections to member 1's proxy are link 0 → 1.
/// </summary>
public sealed class PeerNetworkTests : IAsyncLifetime, IDisposable
{
    private readonly TcpListener _echo = new(IPAddress.Loopback, 0);
    private readonly int _proxyPort = FreePorts.Next();
    private Task? _echoLoop;

    public Task InitializeAsync()
    {
        _echo.Start();
        _echoLoop = Task.Run(async () =>
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _echo.AcceptSocketAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        byte[] buffer = new byte[1024];
                        try
                        {
                            int read;
                            while ((read = await socket.ReceiveAsync(buffer)) > 0)
                            {
                                await socket.SendAsync(buffer.AsMemory(0, read));
                            }
                        }
                        catch (SocketException)
                        {
                        }
                    }
                });
            }
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _echo.Stop();
        await _echoLoop!;
    }

    public void Dispose() => _echo.Dispose();

    [Fact]
    public async Task Pass_EchoesThroughTheProxy()
    {
        await using PeerNetwork network = Network(Environment.ProcessId);
        using Socket client = await ConnectAsync();

        Assert.Equal("hello", await RoundTripAsync(client, "hello", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Delay_HoldsEveryChunkOfTheLink()
    {
        await using PeerNetwork network = Network(Environment.ProcessId);
        network.SetLink(0, 1, new LinkPolicy(LinkMode.Delay, TimeSpan.FromMilliseconds(300)));
        using Socket client = await ConnectAsync();

        var clock = Stopwatch.StartNew();
        string? echoed = await RoundTripAsync(client, "slow", TimeSpan.FromSeconds(10));

        Assert.Equal("slow", echoed);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290), $"round trip took {clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Blackhole_ResetsOpenConnectionsAndSwallowsNewOnesUntilHealed()
    {
        await using PeerNetwork network = Network(Environment.ProcessId);
        using Socket before = await ConnectAsync();
        Assert.Equal("a", await RoundTripAsync(before, "a", TimeSpan.FromSeconds(10)));

        network.Isolate(1, 2);

        Assert.Null(await RoundTripAsync(before, "b", TimeSpan.FromSeconds(10)));
        using Socket during = await ConnectAsync();
        Assert.Null(await RoundTripAsync(during, "c", TimeSpan.FromMilliseconds(500), expectClose: false));

        network.Heal();

        Assert.Null(await RoundTripAsync(during, "d", TimeSpan.FromSeconds(10)));
        using Socket after = await ConnectAsync();
        Assert.Equal("e", await RoundTripAsync(after, "e", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Blackhole_AppliesToDualModeSocketsToo()
    {
        // .NET's default sockets are IPv6 dual-mode: 127.0.0.1 becomes ::ffff:127.0.0.1 and the
        // connection is listed in /proc/net/tcp6 (our etcd dials its peers this way).
        await using PeerNetwork network = Network(Environment.ProcessId);
        network.Isolate(1, 2);
        using var dualMode = new Socket(SocketType.Stream, ProtocolType.Tcp);
        Assert.True(dualMode.DualMode);
        await dualMode.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _proxyPort));

        Assert.Null(await RoundTripAsync(dualMode, "x", TimeSpan.FromMilliseconds(500), expectClose: false));
        Assert.Equal(1, network.IdentifiedConnections);
    }

    [Fact]
    public async Task UnknownDialer_IsNeverPartitioned()
    {
        // Member 0 is some other process (PID 1), so this process is nobody's member.
        await using PeerNetwork network = Network(1);
        network.Isolate(1, 2);
        using Socket client = await ConnectAsync();

        Assert.Equal("free", await RoundTripAsync(client, "free", TimeSpan.FromSeconds(10)));
    }

    private PeerNetwork Network(int member0Pid)
    {
        var network = new PeerNetwork(i => i == 0 ? member0Pid : null, seed: 1);
        network.AddProxy(0, FreePorts.Next(), ((IPEndPoint)_echo.LocalEndpoint).Port);
        network.AddProxy(1, _proxyPort, ((IPEndPoint)_echo.LocalEndpoint).Port);
        return network;
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _proxyPort));
        return socket;
    }

    /// <summary>
    /// Sends <paramref name="text"/> and reads the echo: null when the connection closes or resets,
    /// or (only with <paramref name="expectClose"/> false) when nothing comes back in time.
    /// </summary>
    private static async Task<string?> RoundTripAsync(Socket socket, string text, TimeSpan timeout, bool expectClose = true)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(text), SocketFlags.None, cancel.Token);
            byte[] buffer = new byte[64];
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            return read == 0 ? null : System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (SocketException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!expectClose)
        {
            return null;
        }
    }
}
