using System.Diagnostics;
using Platform.Testing;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary>Pods on a CNI network through Platform.Rkt.Networking (real plugins from /usr/lib/cni).</summary>
public sealed class NetworkTests
{
    [RootFact("creates network namespaces and veths")]
    public void Run_NamedCniNetwork_PodGetsAddressAndGcTearsItDown()
    {
        using var host = new PodTestHost(nameof(Run_NamedCniNetwork_PodGetsAddressAndGcTearsItDown));
        string config = host.Combine("config");
        Directory.CreateDirectory(Path.Combine(config, "net.d"));
        int octet = Random.Shared.Next(1, 254);
        string subnet = $"10.231.{octet}.";
        File.WriteAllText(
            Path.Combine(config, "net.d", "10-podtest.conf"),
            "{\"cniVersion\":\"0.4.0\",\"name\":\"podtest\",\"type\":\"ptp\",\"ipMasq\":false,"
            + $"\"ipam\":{{\"type\":\"host-local\",\"subnet\":\"{subnet}0/24\",\"routes\":[{{\"dst\":\"0.0.0.0/0\"}}]}}}}");
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt(
            $"--local-config={config}", "run", "--net=podtest", $"--uuid-file-save={uuidFile}",
            host.Aci, "--exec=/bin/sh", "--", "-c", $"ip -4 -o addr show eth0; ping -c 1 -W 5 {subnet}1 >/dev/null && echo gateway-reachable");
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains($"inet {subnet}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("gateway-reachable", result.Stdout, StringComparison.Ordinal);
        string uuid = File.ReadAllText(uuidFile);
        Assert.Contains($"podtest:ip4={subnet}", host.RktOk("status", uuid), StringComparison.Ordinal);
        string netns = Path.Combine(host.PodDir(uuid), "netns");
        Assert.True(File.Exists(netns));
        string gc = host.RktOk($"--local-config={config}", "gc", "--grace-period=0s");
        Assert.False(File.Exists(netns));
        string addresses = Run("ip", "-4", "-o", "addr");
        Assert.False(
            addresses.Contains(subnet, StringComparison.Ordinal),
            $"after gc the host still has an address of {subnet}0/24:\n{addresses}\ngc said:\n{gc}\npod directories left: {string.Join(", ", Directory.EnumerateDirectories(host.DataDir, "*", SearchOption.AllDirectories).Where(d => d.EndsWith(uuid, StringComparison.Ordinal)))}");
        Assert.Empty(Platform.Linux.Namespaces.Mounts.MountPointsUnder(host.DataDir));
    }

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }
}
