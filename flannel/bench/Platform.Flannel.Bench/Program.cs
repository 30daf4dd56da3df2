using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Platform.Etcd.Client;
using Platform.Flannel.Bench;
using Platform.Flannel.IntegrationTests.Infrastructure;
using Platform.Linux.Netns;
using Platform.Testing;

// Usage: Platform.Flannel.Bench [rounds=2] [seconds per iperf3 run=2] [backends, comma-separated] [bare/pod pairs per round=3]
int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2;
int seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
string[] backends = args.Length > 2 ? args[2].Split(',') : ["host-gw", "vxlan", "udp"];
int pairs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
TimeSpan timeout = TimeSpan.FromSeconds(30);

// The hosts run flanneld with its defaults, as a deployment does: FLANNEL-FWD's FORWARD accept rules are on
// (the test helper turns them off because tests may run flanneld in the root namespace; these hosts are
// namespaces of their own). --ip-masq stays off, flanneld's default.
Dictionary<string, string> flanneldDefaults = new() { ["FLANNELD_IPTABLES_FORWARD_RULES"] = "true" };

if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("flannel bench: needs root (network namespaces)");
    return 2;
}

await using var etcd = new EtcdMember(EtcdMember.RealEtcdPath, "flannel-bench");
await etcd.StartAsync();
await using IEtcdClient client = EtcdClient.Create(new EtcdClientOptions { Endpoints = [etcd.ClientUrl] });
int etcdPort = new Uri(etcd.ClientUrl).Port;
var rows = new List<(int Round, string Backend, double BareGbps, double PodGbps, double Ratio, double KernelRatio, double PodOverKernel, double BareRttMs, double PodRttMs, double ConvergenceMs)>();

for (int round = 1; round <= rounds; round++)
{
    foreach (string backend in backends)
    {
        using TestDirectory dir = TestDirectory.Create("flannel-bench");
        string prefix = $"/bench-{Guid.NewGuid():N}/network";
        await client.Kv.PutAsync(prefix + "/config", $$$"""{"Network":"10.70.0.0/16","Backend":{"Type":"{{{backend}}}"}}""");
        await using var cluster = new NetnsCluster(dir, etcdPort);
        NetnsCluster.Host h1 = cluster.AddHost(1), h2 = cluster.AddHost(2);
        await Task.WhenAll(h1.StartFlanneldAsync(prefix, timeout, flanneldDefaults), h2.StartFlanneldAsync(prefix, timeout, flanneldDefaults));
        NetnsCluster.Pod pod1 = await h1.AddPodAsync(), pod2 = await h2.AddPodAsync();
        if (!await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(pod1.Ns, pod2.Address), timeout))
        {
            throw new InvalidOperationException($"{backend}: pods cannot reach each other");
        }

        // host-gw and vxlan also measure the kernel-only reference: two more hosts whose identical pod path was
        // built by hand (KernelOnlyPath), no flanneld: the ceiling any flannel reaches on this kernel.
        (NetnsCluster.Pod A, NetnsCluster.Pod B)? kernel = KernelOnlyPath.Build(cluster, backend, 4, 5);
        Func<Task<double>>? kernelRun = null;
        if (kernel is { } k)
        {
            if (!await NetnsCluster.EventuallyAsync(() => NetnsCluster.PingAsync(k.A.Ns, k.B.Address), timeout))
            {
                throw new InvalidOperationException("kernel-only: pods cannot reach each other");
            }

            kernelRun = () => IperfAsync(k.B.Ns, k.B.Address, k.A.Ns, seconds);
        }

        // Bare and pod runs alternate (same iperf3 options, same veth offloads) and each pod run is divided
        // by the bare run just before it; the round's ratio is the median of those pairs: this machine's
        // load swings more between two runs a minute apart than the difference being measured. With the
        // kernel-only reference the two pod runs take turns going first after the bare one.
        var bareRuns = new List<double>();
        var podRuns = new List<double>();
        var kernelRuns = new List<double>();
        for (int i = 0; i < pairs; i++)
        {
            bareRuns.Add(await IperfAsync(h2.Namespace, IPAddress.Parse(h2.PublicIP), h1.Namespace, seconds));
            if (kernelRun is not null && i % 2 == 1)
            {
                kernelRuns.Add(await kernelRun());
            }

            podRuns.Add(await IperfAsync(pod2.Ns, pod2.Address, pod1.Ns, seconds));
            if (kernelRun is not null && i % 2 == 0)
            {
                kernelRuns.Add(await kernelRun());
            }
        }

        double bare = Median(bareRuns);
        double pod = Median(podRuns);
        double ratio = Median(podRuns.Select((p, i) => p / bareRuns[i]));
        double kernelRatio = kernelRun is null ? double.NaN : Median(kernelRuns.Select((p, i) => p / bareRuns[i]));
        double podOverKernel = kernelRun is null ? double.NaN : Median(podRuns.Select((p, i) => p / kernelRuns[i]));
        double bareRtt = await RttAsync(h1.Namespace, IPAddress.Parse(h2.PublicIP));
        double podRtt = await RttAsync(pod1.Ns, pod2.Address);
        double convergence = await ConvergenceAsync(client, cluster, prefix, backend, h1, flanneldDefaults, timeout);
        rows.Add((round, backend, bare, pod, ratio, kernelRatio, podOverKernel, bareRtt, podRtt, convergence));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"round {round} {backend,-8} bare {bare,6:F2} Gbit/s  pod {pod,6:F2} Gbit/s ({100 * ratio,3:F0}%; pairs {Percents(podRuns, bareRuns)})  rtt bare {bareRtt:F3} ms pod {podRtt:F3} ms  convergence {convergence:F0} ms"));
        if (kernelRun is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round} kernel-only {Median(kernelRuns),6:F2} Gbit/s: kernel-only/bare {100 * kernelRatio,3:F0}% (pairs {Percents(kernelRuns, bareRuns)}); {backend}/kernel-only {100 * podOverKernel,3:F0}% (pairs {Percents(podRuns, kernelRuns)})"));
        }
    }
}

Console.WriteLine();
Console.WriteLine($"load: {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine("backend   pod/bare throughput (median of rounds)   target   rtt pod/bare   convergence (max)   target");
foreach (string backend in backends)
{
    var mine = rows.Where(r => r.Backend == backend).ToList();
    double ratio = Median(mine.Select(r => r.Ratio));
    double target = backend switch { "host-gw" => 0.90, "vxlan" => 0.70, _ => 0.45 };
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{backend,-9} {100 * ratio,5:F0}% ({Median(mine.Select(r => r.PodGbps)):F2} of {Median(mine.Select(r => r.BareGbps)):F2} Gbit/s)          >= {100 * target:F0}%    {Median(mine.Select(r => r.PodRttMs)):F3}/{Median(mine.Select(r => r.BareRttMs)):F3} ms   {mine.Max(r => r.ConvergenceMs),6:F0} ms           < 1000 ms"));
    if (mine.Any(r => !double.IsNaN(r.KernelRatio)))
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"",-9} kernel-only/bare {100 * Median(mine.Select(r => r.KernelRatio)):F0}%, {backend}/kernel-only {100 * Median(mine.Select(r => r.PodOverKernel)):F0}% (the ceiling: same pod path built by hand, no flanneld)"));
    }
}

return 0;

// Each run of `runs` as a percentage of the run of `reference` in the same pair.
static string Percents(List<double> runs, List<double> reference) =>
    string.Join(' ', runs.Select((r, i) => (100 * r / reference[i]).ToString("F0", CultureInfo.InvariantCulture)));

static double Median(IEnumerable<double> values)
{
    double[] sorted = [.. values.Order()];
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

// One bounded iperf3 run (server in one namespace, client in the other); received Gbit/s.
static async Task<double> IperfAsync(NetworkNamespace serverNs, IPAddress server, NetworkNamespace clientNs, int seconds)
{
    using Process listener = serverNs.Run(() => Process.Start(new ProcessStartInfo("timeout", [(seconds + 20).ToString(CultureInfo.InvariantCulture), "iperf3", "--forceflush", "-s", "-1", "-B", server.ToString()]) { RedirectStandardOutput = true })!);
    while (await listener.StandardOutput.ReadLineAsync() is { } line && !line.Contains("listening", StringComparison.Ordinal))
    {
    }

    Task<string> serverOutput = listener.StandardOutput.ReadToEndAsync();

    using Process run = clientNs.Run(() => Process.Start(new ProcessStartInfo("timeout", [(seconds + 15).ToString(CultureInfo.InvariantCulture), "iperf3", "-c", server.ToString(), "-t", seconds.ToString(CultureInfo.InvariantCulture), "-J"]) { RedirectStandardOutput = true })!);
    string json = await run.StandardOutput.ReadToEndAsync();
    await run.WaitForExitAsync();
    await listener.WaitForExitAsync();
    using JsonDocument result = JsonDocument.Parse(json);
    if (!result.RootElement.GetProperty("end").TryGetProperty("sum_received", out JsonElement received))
    {
        throw new InvalidOperationException($"iperf3 to {server} failed:\n{json}\nserver:\n{await serverOutput}");
    }

    return received.GetProperty("bits_per_second").GetDouble() / 1e9;
}

// Average RTT of 20 pings 20 ms apart (busybox ping), ms.
static async Task<double> RttAsync(NetworkNamespace ns, IPAddress target)
{
    using Process ping = ns.Run(() => Process.Start(new ProcessStartInfo("busybox", ["ping", "-c", "20", "-i", "0.02", "-q", target.ToString()]) { RedirectStandardOutput = true })!);
    string output = await ping.StandardOutput.ReadToEndAsync();
    await ping.WaitForExitAsync();
    // "round-trip min/avg/max = 0.041/0.063/0.112 ms"
    string stats = output.Split('\n').First(l => l.Contains("min/avg/max", StringComparison.Ordinal));
    return double.Parse(stats.Split('=')[1].Trim().Split('/')[1], CultureInfo.InvariantCulture);
}

// A third host joins: time from its lease appearing in etcd until host 1 routes its subnet.
static async Task<double> ConvergenceAsync(IEtcdClient client, NetnsCluster cluster, string prefix, string backend, NetnsCluster.Host h1, Dictionary<string, string> flanneldEnvironment, TimeSpan timeout)
{
    NetnsCluster.Host h3 = cluster.AddHost(3);
    Task start = h3.StartFlanneldAsync(prefix, timeout, flanneldEnvironment);
    var clock = Stopwatch.StartNew();
    string? subnet = null;
    while (subnet is null && clock.Elapsed < timeout)
    {
        RangeResult keys = await client.Kv.GetPrefixAsync(prefix + "/subnets/");
        subnet = keys.Kvs.Where(k => k.ValueString.Contains($"\"{h3.PublicIP}\"", StringComparison.Ordinal)).Select(k => k.KeyString).FirstOrDefault();
    }

    TimeSpan written = clock.Elapsed;
    if (subnet is null)
    {
        throw new InvalidOperationException($"h3's lease did not appear in etcd within {timeout}");
    }

    string cidr = subnet[(subnet.LastIndexOf('/') + 1)..].Replace('-', '/');
    while (clock.Elapsed < timeout)
    {
        bool routed = backend == "udp"
            ? h1.Flanneld!.Log.Contains($"Subnet added: {cidr} via", StringComparison.Ordinal)
            : h1.Netlink.GetRoutes().Any(r => $"{r.Destination}/{r.PrefixLength}" == cidr);
        if (routed)
        {
            break;
        }

        await Task.Delay(1);
    }

    double ms = (clock.Elapsed - written).TotalMilliseconds;
    await start;
    return ms;
}
