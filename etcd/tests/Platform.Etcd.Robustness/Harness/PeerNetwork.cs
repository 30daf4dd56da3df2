using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>What a link does to the bytes of peer connections from one member to another.</summary>
internal enum LinkMode
{
    /// <summary>Forward at once.</summary>
    Pass,

    /// <summary>Drop the link's connections; new ones are accepted but nothing is forwarded (a partition: peers time out).</summary>
    Blackhole,

    /// <summary>Forward every chunk after <see cref="LinkPolicy.Delay"/>, in order.</summary>
    Delay,

    /// <summary>Reset a connection with <see cref="LinkPolicy.DropProbability"/> per chunk (whatever was in flight is lost).</summary>
    Drop,
}

internal sealed record LinkPolicy(LinkMode Mode, TimeSpan Delay = default, double DropProbability = 0)
{
    public static LinkPolicy Pass { get; } = new(LinkMode.Pass);
}

/// <summary>
/// TCP proxies in front of every member's peer port (each member advertises its proxy's URL, so
/// all peer traffic crosses one). A proxy sees where a connection comes from by looking up the
/// connecting socket in <c>/proc/net/tcp</c> and finding the member process that holds its inode
/// (<c>/proc/PID/fd</c>), which works for any peer protocol; so every ordered pair of members is
/// a link with its own <see cref="LinkPolicy"/>: bytes from the dialer to the proxied member follow
/// link (dialer → member), replies follow (member → dialer). Connections whose source is no member
/// pass untouched.
/// </summary>
internal sealed class PeerNetwork : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(int From, int To), LinkPolicy> _links = new();
    private readonly ConcurrentDictionary<ProxyConnection, byte> _connections = new();
    private readonly List<Proxy> _proxies = [];
    private readonly Func<int, int?> _pidOf;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private int _identified;
    private int _unidentified;
    private int _resets;

    /// <param name="pidOf">The current process id of member i (null while it is down).</param>
    /// <param name="seed">Seeds drop decisions.</param>
    public PeerNetwork(Func<int, int?> pidOf, int seed)
    {
        _pidOf = pidOf;
        _random = new Random(seed);
    }

    /// <summary>Connection counts so far, for transcripts: proof that faults reached real peer traffic.</summary>
    public string Statistics => $"peer connections: {Volatile.Read(ref _identified)} from members, {Volatile.Read(ref _unidentified)} from elsewhere, {Volatile.Read(ref _resets)} reset by faults";

    /// <summary>Connections whose dialer was recognised as a member: 0 means link policies never applied.</summary>
    public int IdentifiedConnections => Volatile.Read(ref _identified);

    /// <summary>How many member indexes exist so far (proxies added).</summary>
    public int Count => _proxies.Count;

    /// <summary>Starts the proxy of member <paramref name="index"/>: accepts on <paramref name="listenPort"/>, forwards to <paramref name="targetPort"/>.</summary>
    public void AddProxy(int index, int listenPort, int targetPort)
    {
        var listener = new TcpListener(IPAddress.Loopback, listenPort);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start(128);
        var proxy = new Proxy(index, listenPort, targetPort, listener);
        _proxies.Add(proxy);
        proxy.AcceptLoop = Task.Run(() => AcceptLoopAsync(proxy));
    }

    public LinkPolicy Policy(int from, int to) => from < 0 || to < 0 ? LinkPolicy.Pass : _links.GetValueOrDefault((from, to), LinkPolicy.Pass);

    /// <summary>Sets the policy of link <paramref name="from"/> → <paramref name="to"/>; entering or leaving a blackhole resets the pair's connections.</summary>
    public void SetLink(int from, int to, LinkPolicy policy)
    {
        LinkPolicy old = Policy(from, to);
        _links[(from, to)] = policy;
        if ((old.Mode == LinkMode.Blackhole) != (policy.Mode == LinkMode.Blackhole))
        {
            foreach (ProxyConnection connection in _connections.Keys.Where(c => c.Joins(from, to)))
            {
                connection.Close();
                Interlocked.Increment(ref _resets);
            }
        }
    }

    /// <summary>Cuts <paramref name="member"/> off from every other member, both ways.</summary>
    public void Isolate(int member, int memberCount)
    {
        for (int other = 0; other < memberCount; other++)
        {
            if (other != member)
            {
                SetLink(member, other, new LinkPolicy(LinkMode.Blackhole));
                SetLink(other, member, new LinkPolicy(LinkMode.Blackhole));
            }
        }
    }

    /// <summary>Every link of every member pair gets <paramref name="policy"/>.</summary>
    public void SetAll(int memberCount, LinkPolicy policy)
    {
        for (int a = 0; a < memberCount; a++)
        {
            for (int b = 0; b < memberCount; b++)
            {
                if (a != b)
                {
                    SetLink(a, b, policy);
                }
            }
        }
    }

    /// <summary>Every link passes again.</summary>
    public void Heal()
    {
        foreach ((int from, int to) in _links.Keys.ToList())
        {
            SetLink(from, to, LinkPolicy.Pass);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Proxy proxy in _proxies)
        {
            proxy.Listener.Stop();
        }

        foreach (ProxyConnection connection in _connections.Keys)
        {
            connection.Close();
        }

        foreach (Proxy proxy in _proxies)
        {
            try
            {
                await proxy.AcceptLoop!;
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task AcceptLoopAsync(Proxy proxy)
    {
        while (true)
        {
            Socket inbound;
            try
            {
                inbound = await proxy.Listener.AcceptSocketAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(proxy, inbound));
        }
    }

    private async Task ServeAsync(Proxy proxy, Socket inbound)
    {
        int from = IdentifyDialer(inbound, proxy.ListenPort);
        Interlocked.Increment(ref from >= 0 ? ref _identified : ref _unidentified);
        inbound.NoDelay = true;
        var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connection = new ProxyConnection(from, proxy.Index, inbound, outbound);
        _connections[connection] = 0;
        try
        {
            if (Policy(from, proxy.Index).Mode != LinkMode.Blackhole && Policy(proxy.Index, from).Mode != LinkMode.Blackhole)
            {
                await outbound.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxy.TargetPort));
            }
            else
            {
                // A partition: swallow what the dialer sends until the link heals (which closes us).
                connection.Blackholed = true;
            }

            await Task.WhenAll(
                PumpAsync(connection, inbound, outbound, from, proxy.Index),
                PumpAsync(connection, outbound, inbound, proxy.Index, from));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
        }
        finally
        {
            connection.Close();
            _connections.TryRemove(connection, out _);
        }
    }

    private async Task PumpAsync(ProxyConnection connection, Socket source, Socket destination, int from, int to)
    {
        if (connection.Blackholed && !source.Connected)
        {
            return;
        }

        var queue = Channel.CreateUnbounded<(long Due, byte[] Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Task writer = Task.Run(async () =>
        {
            try
            {
                await foreach ((long due, byte[] data) in queue.Reader.ReadAllAsync())
                {
                    long now = TimeProvider.System.GetTimestamp();
                    if (due > now)
                    {
                        // The injected delay itself (a fault), not synchronisation.
                        await Task.Delay(TimeSpan.FromSeconds((due - now) / (double)TimeProvider.System.TimestampFrequency));
                    }

                    await destination.SendAsync(data, SocketFlags.None);
                }

                destination.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                connection.Close();
            }
        });
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int read = await source.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    break;
                }

                LinkPolicy policy = Policy(from, to);
                if (connection.Blackholed || policy.Mode == LinkMode.Blackhole)
                {
                    continue;
                }

                long due = TimeProvider.System.GetTimestamp();
                if (policy.Mode == LinkMode.Delay)
                {
                    due += (long)(policy.Delay.TotalSeconds * TimeProvider.System.TimestampFrequency);
                }
                else if (policy.Mode == LinkMode.Drop && NextDouble() < policy.DropProbability)
                {
                    Interlocked.Increment(ref _resets);
                    connection.Close();
                    break;
                }

                queue.Writer.TryWrite((due, buffer[..read]));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            connection.Close();
        }
        finally
        {
            queue.Writer.TryComplete();
            await writer;
        }
    }

    private double NextDouble()
    {
        lock (_randomLock)
        {
            return _random.NextDouble();
        }
    }

    /// <summary>The member whose process owns the socket that connected to us, or -1.</summary>
    private int IdentifyDialer(Socket inbound, int proxyPort)
    {
        if (inbound.RemoteEndPoint is not IPEndPoint remote)
        {
            return -1;
        }

        string? inode = FindInode(remote.Port, proxyPort);
        if (inode is null)
        {
            return -1;
        }

        string target = $"socket:[{inode}]";
        for (int member = 0; member < _proxies.Count; member++)
        {
            if (_pidOf(member) is not int pid)
            {
                continue;
            }

            try
            {
                foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
                {
                    if (string.Equals(new FileInfo(fd).LinkTarget, target, StringComparison.Ordinal))
                    {
                        return member;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process went away or an fd closed while listing: not this one.
            }
        }

        return -1;
    }

    /// <summary>
    /// The inode of the socket :<paramref name="localPort"/> → :<paramref name="remotePort"/>. Both
    /// tables: .NET's dual-mode sockets (our etcd) connect to 127.0.0.1 as ::ffff:127.0.0.1 and are
    /// listed in /proc/net/tcp6; Go's (etcd 3.4) in /proc/net/tcp.
    /// </summary>
    private static string? FindInode(int localPort, int remotePort)
    {
        string local = ":" + localPort.ToString("X4", CultureInfo.InvariantCulture);
        string remote = ":" + remotePort.ToString("X4", CultureInfo.InvariantCulture);
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (string line in File.ReadLines(table).Skip(1))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[1].EndsWith(local, StringComparison.Ordinal) && fields[2].EndsWith(remote, StringComparison.Ordinal))
                {
                    return fields[9];
                }
            }
        }

        return null;
    }

    private sealed class Proxy(int index, int listenPort, int targetPort, TcpListener listener)
    {
        public int Index { get; } = index;

        public int ListenPort { get; } = listenPort;

        public int TargetPort { get; } = targetPort;

        public TcpListener Listener { get; } = listener;

        public Task? AcceptLoop { get; set; }
    }

    private sealed class ProxyConnection(int from, int to, Socket inbound, Socket outbound)
    {
        private int _closed;

        public bool Blackholed { get; set; }

        public bool Joins(int a, int b) => (from == a && to == b) || (from == b && to == a);

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            foreach (Socket socket in new[] { inbound, outbound })
            {
                try
                {
                    // Linger 0: an RST, as a broken network path would surface.
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}
