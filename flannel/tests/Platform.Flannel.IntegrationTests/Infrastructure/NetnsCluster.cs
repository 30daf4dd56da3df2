using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Infrastructure;

/// <summary>
/// Hosts as network namespaces on one L2 segment: a "switch" namespace holds bridge <c>br0</c>; every
/// host namespace gets <c>eth0</c> = 10.250.0.&lt;n&gt;/24, a veth whose other end is enslaved to
/// <c>br0</c>. No address is added outside these namespaces.
/// <para>
/// etcd stays the class's real etcd on 127.0.0.1 of the root namespace; hosts reach it at
/// <see cref="EtcdEndpoint"/> (10.250.0.254:2379 on <c>br0</c> in the switch namespace), where this
/// test process forwards each connection to 127.0.0.1: the listening socket was created inside the
/// switch namespace, the outgoing one in the root namespace.
/// </para>
/// Every namespace, process and forwarder is removed by <see cref="DisposeAsync"/>, also after failures.
/// </summary>
internal sealed class NetnsCluster : IAsyncDisposable
{
    public const string EtcdEndpoint = "http://10.250.0.254:2379";

    private readonly TestDirectory _directory;
    private readonly List<string> _namespacePaths = [];
    private readonly List<IDisposable> _handles = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly NetworkNamespace _switch;
    private readonly IRtNetlink _switchNetlink;
    private readonly int _bridgeIndex;
    private readonly Socket _proxyListener;
    private readonly Task _proxy;

    public NetnsCluster(TestDirectory directory, int etcdPort)
    {
        _directory = directory;
        _switch = NewNamespace("switch");
        _switchNetlink = Track(RtNetlink.Open(_switch));
        Link lo = _switchNetlink.GetLink("lo")!;
        _switchNetlink.SetLinkUp(lo.Index, true);
        Link bridge = _switchNetlink.AddBridge("br0");
        _bridgeIndex = bridge.Index;
        _switchNetlink.AddAddress(new InterfaceAddress(bridge.Index, IPAddress.Parse("10.250.0.254"), 24));
        _switchNetlink.SetLinkUp(bridge.Index, true);

        _proxyListener = _switch.Run(() =>
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Parse("10.250.0.254"), 2379));
            listener.Listen(64);
            return listener;
        });
        _proxy = ForwardAsync(_proxyListener, etcdPort, _stop.Token);
    }

    public List<Host> Hosts { get; } = [];

    /// <summary>Adds host <c>h&lt;n&gt;</c> with eth0 = 10.250.0.&lt;n&gt;/24 on the switch, lo up and IPv4 forwarding on.</summary>
    public Host AddHost(int n)
    {
        NetworkNamespace ns = NewNamespace($"h{n}");
        IRtNetlink netlink = Track(RtNetlink.Open(ns));
        Link port = _switchNetlink.AddVeth($"port{n}", "eth0", ns);
        _switchNetlink.SetMaster(port.Index, _bridgeIndex);
        _switchNetlink.SetLinkUp(port.Index, true);
        Link eth0 = netlink.GetLink("eth0")!;
        netlink.AddAddress(new InterfaceAddress(eth0.Index, IPAddress.Parse($"10.250.0.{n}"), 24));
        netlink.SetLinkUp(eth0.Index, true);
        netlink.SetLinkUp(netlink.GetLink("lo")!.Index, true);
        // Per-namespace sysctl: /proc/sys/net is resolved in the namespace of the thread that opens it.
        ns.Run(() => File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "1"));
        var host = new Host(this, n, ns, netlink, _directory.Combine($"h{n}", "subnet.env"));
        Hosts.Add(host);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Host host in Hosts)
        {
            if (host.Flanneld is not null)
            {
                await host.Flanneld.DisposeAsync();
            }
        }

        await _stop.CancelAsync();
        _proxyListener.Dispose();
        await _proxy.ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (IDisposable handle in Enumerable.Reverse(_handles))
        {
            handle.Dispose();
        }

        foreach (string path in _namespacePaths)
        {
            NetworkNamespace.Delete(path);
        }

        _stop.Dispose();
    }

    internal T Track<T>(T handle)
        where T : IDisposable
    {
        _handles.Add(handle);
        return handle;
    }

    internal NetworkNamespace NewNamespace(string name)
    {
        string path = _directory.Combine("netns", name);
        _namespacePaths.Add(path);
        return Track(NetworkNamespace.Create(path));
    }

    private static async Task ForwardAsync(Socket listener, int etcdPort, CancellationToken stop)
    {
        var connections = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                Socket inside = await listener.AcceptAsync(stop);
                connections.Add(PipeAsync(inside, etcdPort, stop));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Cluster disposed.
        }

        await Task.WhenAll(connections).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private static async Task PipeAsync(Socket inside, int etcdPort, CancellationToken stop)
    {
        using (inside)
        using (var outside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                // Created on a pool thread: a root-namespace socket.
                await outside.ConnectAsync(new IPEndPoint(IPAddress.Loopback, etcdPort), stop);
                using var a = new NetworkStream(inside, ownsSocket: false);
                using var b = new NetworkStream(outside, ownsSocket: false);
                using var either = CancellationTokenSource.CreateLinkedTokenSource(stop);
                Task up = a.CopyToAsync(b, either.Token);
                Task down = b.CopyToAsync(a, either.Token);
                await Task.WhenAny(up, down);
                await either.CancelAsync();
                await Task.WhenAll(up, down).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
                // A side closed.
            }
        }
    }

    /// <summary>One host namespace, its flanneld and its pods.</summary>
    internal sealed class Host
    {
        private readonly NetnsCluster _cluster;
        private int _pods;

        public Host(NetnsCluster cluster, int n, NetworkNamespace ns, IRtNetlink netlink, string subnetFile)
        {
            _cluster = cluster;
            N = n;
            Namespace = ns;
            Netlink = netlink;
            SubnetFile = subnetFile;
        }

        public int N { get; }

        public string PublicIP => $"10.250.0.{N}";

        public NetworkNamespace Namespace { get; }

        public IRtNetlink Netlink { get; }

        public string SubnetFile { get; }

        public Flanneld? Flanneld { get; private set; }

        /// <summary>Starts flanneld inside the host namespace and waits until it is ready (subnet.env + routes).</summary>
        public async Task<Flanneld> StartFlanneldAsync(string prefix, TimeSpan timeout)
        {
            if (Flanneld is not null)
            {
                await Flanneld.DisposeAsync();
            }

            Flanneld = Flanneld.Start(
                [$"--etcd-endpoints={EtcdEndpoint}", $"--etcd-prefix={prefix}", "--iface=eth0", $"--subnet-file={SubnetFile}"],
                ns: Namespace);
            await Flanneld.WaitForLogAsync("programmed; ready", timeout);
            return Flanneld;
        }

        public Dictionary<string, string> ReadSubnetEnv() =>
            File.ReadAllLines(SubnetFile).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        /// <summary>
        /// A pod as flannel's CNI plugin would wire it (bridge <c>cni0</c> = subnet .1, pod eth0 = next free
        /// address, default route via .1, MTU = FLANNEL_MTU); returns the pod's namespace and address.
        /// </summary>
        public (NetworkNamespace Ns, IPAddress Address) AddPod()
        {
            Dictionary<string, string> env = ReadSubnetEnv();
            string[] subnet = env["FLANNEL_SUBNET"].Split('/');
            int mtu = int.Parse(env["FLANNEL_MTU"], CultureInfo.InvariantCulture);
            byte[] gateway = IPAddress.Parse(subnet[0]).GetAddressBytes();
            int prefix = int.Parse(subnet[1], CultureInfo.InvariantCulture);
            Link bridge = Netlink.GetLink("cni0") ?? Netlink.AddBridge("cni0");
            if (!Netlink.GetAddresses(bridge.Index).Any(a => a.Address.Equals(new IPAddress(gateway))))
            {
                Netlink.AddAddress(new InterfaceAddress(bridge.Index, new IPAddress(gateway), prefix));
                Netlink.SetMtu(bridge.Index, mtu);
            }

            Netlink.SetLinkUp(bridge.Index, true);
            int pod = ++_pods;
            NetworkNamespace ns = _cluster.NewNamespace($"h{N}-pod{pod}");
            using IRtNetlink podNetlink = RtNetlink.Open(ns);
            Link hostEnd = Netlink.AddVeth($"veth{pod}", "eth0", ns);
            Netlink.SetMtu(hostEnd.Index, mtu);
            Netlink.SetMaster(hostEnd.Index, bridge.Index);
            Netlink.SetLinkUp(hostEnd.Index, true);
            byte[] address = (byte[])gateway.Clone();
            address[3] = (byte)(gateway[3] + pod);
            Link eth0 = podNetlink.GetLink("eth0")!;
            podNetlink.SetMtu(eth0.Index, mtu);
            podNetlink.AddAddress(new InterfaceAddress(eth0.Index, new IPAddress(address), prefix));
            podNetlink.SetLinkUp(eth0.Index, true);
            podNetlink.SetLinkUp(podNetlink.GetLink("lo")!.Index, true);
            podNetlink.AddRoute(new Route { Destination = IPAddress.Any, PrefixLength = 0, Gateway = new IPAddress(gateway), OutputIndex = eth0.Index });
            return (ns, new IPAddress(address));
        }
    }

    /// <summary>One ICMP echo from inside <paramref name="ns"/> (busybox ping); true when answered within a second.</summary>
    public static async Task<bool> PingAsync(NetworkNamespace ns, IPAddress target)
    {
        using Process ping = ns.Run(() => Process.Start(new ProcessStartInfo("busybox", ["ping", "-c", "1", "-W", "1", target.ToString()]) { RedirectStandardOutput = true, RedirectStandardError = true })!);
        await ping.StandardOutput.ReadToEndAsync();
        await ping.WaitForExitAsync();
        return ping.ExitCode == 0;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return await condition();
    }

    /// <summary>A TCP round trip from pod <paramref name="client"/> to a listener in pod <paramref name="server"/>.</summary>
    public static async Task<byte[]> TcpEchoAsync(NetworkNamespace server, IPAddress serverAddress, NetworkNamespace client, byte[] payload)
    {
        using Socket listener = server.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(serverAddress, 0));
            s.Listen(1);
            return s;
        });
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using Socket connection = client.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Task<Socket> accept = listener.AcceptAsync(timeout.Token).AsTask();
        await connection.ConnectAsync(new IPEndPoint(serverAddress, port), timeout.Token);
        using Socket accepted = await accept;
        await connection.SendAsync(payload, timeout.Token);
        connection.Shutdown(SocketShutdown.Send);
        using var received = new MemoryStream();
        byte[] buffer = new byte[65536];
        int n;
        while ((n = await accepted.ReceiveAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}
