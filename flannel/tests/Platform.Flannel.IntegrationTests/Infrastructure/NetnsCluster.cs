using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Platform.Linux.Netlink;
using Platform.Linux.Netns;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Infrastructure;

/// <summary>
/// Hosts as network namespaces on one L2 segment: a "switch" namespace holds bridge <c>br0</c>; every
/// host namespace gets <c>eth0</c> = 10.250.0.&lt;n&gt;/24, a veth whose other end is enslaved to
/// <c>br0</c>. No address is added outside these namespaces.
/// <para>
/// etcd stays the class's etcd server (ours or the real 3.4) on 127.0.0.1 of the root namespace; hosts reach it at
/// <see cref="EtcdEndpoint"/> (10.250.0.254:2379 on <c>br0</c> in the switch namespace), where this
/// test process forwards each connection to 127.0.0.1: the listening socket was created inside the
/// switch namespace, the outgoing one in the root namespace.
/// </para>
/// <para>
/// Pods are namespaces attached by our flannel CNI plugin run inside the host namespace (ADD, and DEL),
/// delegating to Debian's <c>bridge</c> (<c>cni0</c>) and <c>host-local</c>, as kubelet or rkt would.
/// </para>
/// Every namespace, process and forwarder is removed by <see cref="DisposeAsync"/>, also after failures.
/// </summary>
internal sealed class NetnsCluster : IAsyncDisposable
{
    public const string EtcdEndpoint = "http://10.250.0.254:2379";

    /// <summary>The CNI network name (kube-flannel's).</summary>
    public const string CniNetwork = "cbr0";

    /// <summary>Our flannel CNI plugin (the build of <c>flannel/src/cni-flannel</c>).</summary>
    public static string CniPluginPath { get; } = System.Reflection.CustomAttributeExtensions.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>(typeof(NetnsCluster).Assembly)
        .Single(a => a.Key == "FlannelCniExecutable").Value!;

    /// <summary>CNI_PATH: our plugin's folder first, then Debian's containernetworking-plugins.</summary>
    public static string CniPath { get; } = $"{Path.GetDirectoryName(CniPluginPath)}:/usr/lib/cni";

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
            foreach (Pod pod in host.Pods.ToList())
            {
                try
                {
                    // Best effort (a test asserts its own DELs): the namespaces go below anyway.
                    await host.DeletePodAsync(pod);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
                {
                }
            }

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
        /// <param name="prefix">The etcd prefix (<c>--etcd-prefix</c>).</param>
        /// <param name="timeout">How long to wait for readiness.</param>
        /// <param name="environment">Extra <c>FLANNELD_*</c> variables (the bench turns flannel's default FORWARD rules back on).</param>
        public async Task<Flanneld> StartFlanneldAsync(string prefix, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
        {
            if (Flanneld is not null)
            {
                await Flanneld.DisposeAsync();
            }

            Flanneld = Flanneld.Start(
                [$"--etcd-endpoints={EtcdEndpoint}", $"--etcd-prefix={prefix}", "--iface=eth0", $"--subnet-file={SubnetFile}"],
                environment,
                Namespace);
            await Flanneld.WaitForLogAsync("programmed; ready", timeout);
            return Flanneld;
        }

        public Dictionary<string, string> ReadSubnetEnv() =>
            File.ReadAllLines(SubnetFile).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        /// <summary>Pods added and not deleted yet (DEL'd best-effort when the cluster is disposed).</summary>
        public List<Pod> Pods { get; } = [];

        /// <summary>
        /// A pod attached as a runtime attaches it: a fresh namespace, then our flannel CNI plugin with
        /// <c>CNI_COMMAND=ADD</c> run inside the host namespace (<see cref="CniPath"/> = the plugin's folder,
        /// then Debian's <c>/usr/lib/cni</c> for <c>bridge</c> + <c>host-local</c>), netconf
        /// <see cref="Netconf"/>. Fails with the plugin's error JSON when ADD fails.
        /// </summary>
        public async Task<Pod> AddPodAsync()
        {
            string id = $"h{N}-pod{++_pods}";
            NetworkNamespace ns = _cluster.NewNamespace(id);
            (int code, string stdout, string stderr) = await CniAsync("ADD", id, ns.Path);
            if (code != 0)
            {
                throw new InvalidOperationException($"CNI ADD of {id} exited {code}: {stdout} {stderr}");
            }

            // The CNI 0.3.1 result: {"cniVersion":"0.3.1","interfaces":[...],"ips":[{"version":"4","address":"10.60.5.2/24",...}],...}
            using JsonDocument result = JsonDocument.Parse(stdout);
            string address = result.RootElement.GetProperty("ips")[0].GetProperty("address").GetString()!;
            var pod = new Pod(id, ns, IPAddress.Parse(address.Split('/')[0]), address);
            Pods.Add(pod);
            return pod;
        }

        /// <summary>CNI DEL of <paramref name="pod"/> through the plugin (as a runtime does); exit code and output.</summary>
        public async Task<(int Code, string Stdout, string Stderr)> DeletePodAsync(Pod pod)
        {
            Pods.Remove(pod);
            return await CniAsync("DEL", pod.ContainerId, pod.Ns.Path);
        }

        /// <summary>host-local's reservation file of an address (gone after DEL).</summary>
        public string IpamReservation(IPAddress address) => Path.Combine(IpamDir, CniNetwork, address.ToString());

        private string IpamDir => Path.Combine(Path.GetDirectoryName(SubnetFile)!, "ipam");

        /// <summary>
        /// kube-flannel's network (<c>cbr0</c>, delegate with hairpin mode and the default gateway), with this
        /// host's subnet.env and private data folders. <c>ipMasq: false</c> keeps pod addresses end to end
        /// (flanneld's <c>--ip-masq</c> is off, so the plugin would otherwise ask the bridge to masquerade).
        /// </summary>
        private string Netconf =>
            $$$"""{"cniVersion":"0.3.1","name":"{{{CniNetwork}}}","type":"flannel","subnetFile":"{{{SubnetFile}}}","dataDir":"{{{Path.Combine(Path.GetDirectoryName(SubnetFile)!, "cni-flannel")}}}","ipam":{"dataDir":"{{{IpamDir}}}"},"delegate":{"hairpinMode":true,"isDefaultGateway":true,"ipMasq":false}}""";

        private async Task<(int Code, string Stdout, string Stderr)> CniAsync(string command, string containerId, string netns)
        {
            var start = new ProcessStartInfo(CniPluginPath)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.Environment["CNI_COMMAND"] = command;
            start.Environment["CNI_CONTAINERID"] = containerId;
            start.Environment["CNI_NETNS"] = netns;
            start.Environment["CNI_IFNAME"] = "eth0";
            start.Environment["CNI_PATH"] = CniPath;
            // The plugin (and the bridge it runs) work on the namespace they start in: this host's.
            using Process plugin = Namespace.Run(() => Process.Start(start)!);
            Task<string> stdout = plugin.StandardOutput.ReadToEndAsync();
            Task<string> stderr = plugin.StandardError.ReadToEndAsync();
            await plugin.StandardInput.WriteAsync(Netconf);
            plugin.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await plugin.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                plugin.Kill(entireProcessTree: true);
                throw new TimeoutException($"CNI {command} of {containerId} did not finish within a minute");
            }

            return (plugin.ExitCode, await stdout, await stderr);
        }
    }

    /// <summary>A pod: its CNI container ID, namespace, address and the address with its prefix as CNI returned it.</summary>
    internal sealed record Pod(string ContainerId, NetworkNamespace Ns, IPAddress Address, string Cidr);

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

    /// <summary>A TCP transfer from pod <paramref name="client"/> to a listener in pod <paramref name="server"/>.</summary>
    public static async Task<(byte[] Received, IPAddress Peer)> TcpTransferAsync(NetworkNamespace server, IPAddress serverAddress, NetworkNamespace client, byte[] payload)
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
        // The server reads while the client sends: with only the socket buffers between them (their
        // autotuned sizes vary with load and loss), a send that waits for the reader would deadlock.
        Task<byte[]> receiving = ReceiveAllAsync(accepted, timeout.Token);
        await connection.SendAsync(payload, timeout.Token);
        connection.Shutdown(SocketShutdown.Send);
        byte[] received = await receiving;
        return (received, ((IPEndPoint)accepted.RemoteEndPoint!).Address);

        static async Task<byte[]> ReceiveAllAsync(Socket socket, CancellationToken cancellationToken)
        {
            using var received = new MemoryStream();
            byte[] buffer = new byte[65536];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            return received.ToArray();
        }
    }
}
