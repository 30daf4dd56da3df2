using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Platform.Flannel.IpMasq;
using Platform.Flannel.Subnets;
using Platform.Testing;

namespace Platform.Flannel.Node.IntegrationTests;

/// <summary>
/// flanneld with <c>--ip-masq</c> end to end: it and a real etcd 3.4 run inside a fresh network
/// namespace (through <c>nsenter</c>), so its iptables rules land there: installed exactly, re-ensured
/// every <c>--iptables-resync</c>, removed on SIGTERM.
/// </summary>
public sealed class FlanneldIpMasqTests
{
    private static readonly string s_flanneld = typeof(FlanneldIpMasqTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FlanneldExecutable").Value!;

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [RootFact("runs flanneld and etcd inside a network namespace and reads its iptables")]
    public async Task Flanneld_IpMasq_RulesInstalledResyncedAndRemovedOnSigterm()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(FlanneldIpMasqTests));
        using Netns ns = Netns.Create("flfd");
        await ns.RunAsync("ip", "link", "set", "lo", "up");
        string[] natBefore = await RulesAsync(ns, "nat");
        string[] filterBefore = await RulesAsync(ns, "filter");

        // etcd inside the namespace: EtcdMember runs a wrapper that enters it first.
        string wrapper = dir.Combine("etcd-in-netns");
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec nsenter --net={ns.Path} {EtcdMember.RealEtcdPath} \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var etcd = new EtcdMember(wrapper, "flannel-ipmasq");
        await etcd.StartAsync();
        const string prefix = "/ipmasq-test/network";
        await ns.RunAsync("etcdctl", "--endpoints", etcd.ClientUrl, "put", prefix + "/config", """{"Network":"10.66.0.0/16","Backend":{"Type":"alloc"}}""");

        string subnetFile = dir.Combine("subnet.env");
        using Process flanneld = Process.Start(new ProcessStartInfo("nsenter")
        {
            ArgumentList =
            {
                $"--net={ns.Path}", s_flanneld, "--etcd-endpoints", etcd.ClientUrl, "--etcd-prefix", prefix,
                "--subnet-file", subnetFile, "--iface", "127.0.0.1", "--public-ip", "10.99.0.7",
                "--ip-masq", "--iptables-resync", "1",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        flanneld.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
        flanneld.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
        flanneld.BeginErrorReadLine();
        flanneld.BeginOutputReadLine();
        try
        {
            await WaitUntilAsync(() => Task.FromResult(File.Exists(subnetFile)), "subnet.env", flanneld, log);
            string env = await File.ReadAllTextAsync(subnetFile);
            Assert.Contains("FLANNEL_IPMASQ=true", env, StringComparison.Ordinal);
            string subnetLine = env.Split('\n').Single(l => l.StartsWith("FLANNEL_SUBNET=", StringComparison.Ordinal));
            Ip4Net subnet = Ip4Net.Parse(subnetLine["FLANNEL_SUBNET=".Length..]);
            Ip4Net network = Ip4Net.Parse("10.66.0.0/16");

            // Rules go in before subnet.env is written: exactly flannel's, with --random-fully (iptables 1.8).
            string[] nat = Expected(natBefore, FlannelRules.Masquerade(network, subnet, randomFully: true), FlannelRules.MasqChain);
            string[] filter = Expected(filterBefore, FlannelRules.Forward(network), FlannelRules.ForwardChain);
            Assert.Equal(nat, await RulesAsync(ns, "nat"));
            Assert.Equal(filter, await RulesAsync(ns, "filter"));

            IptablesRule victim = FlannelRules.Masquerade(network, subnet, randomFully: true)[5];
            await ns.RunAsync(["iptables", "--wait", "-t", "nat", "-D", victim.Chain, .. victim.Spec]);
            await WaitUntilAsync(async () => (await RulesAsync(ns, "nat")).SequenceEqual(nat), "the deleted rule to come back", flanneld, log);
            Assert.Contains(log, l => l.Contains("Some iptables rules are missing", StringComparison.Ordinal));

            using (Process kill = Process.Start("kill", ["-TERM", flanneld.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await flanneld.WaitForExitAsync().WaitAsync(s_timeout);
            Assert.True(flanneld.ExitCode == 0, string.Join('\n', log));
            Assert.Equal(natBefore, await RulesAsync(ns, "nat"));
            Assert.Equal(filterBefore, await RulesAsync(ns, "filter"));
        }
        finally
        {
            if (!flanneld.HasExited)
            {
                flanneld.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<string[]> RulesAsync(Netns ns, string table) =>
        (await ns.RunAsync("iptables", "--wait", "-t", table, "-S")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string[] Expected(string[] baseline, IEnumerable<IptablesRule> rules, string chain)
    {
        string[] lines = [.. rules.Select(r => r.ToRestoreLine())];
        return [.. baseline, $"-N {chain}", .. lines.Where(l => !l.StartsWith($"-A {chain} ", StringComparison.Ordinal)), .. lines.Where(l => l.StartsWith($"-A {chain} ", StringComparison.Ordinal))];
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, Process flanneld, IEnumerable<string> log)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!await condition())
        {
            Assert.False(flanneld.HasExited, $"flanneld exited ({(flanneld.HasExited ? flanneld.ExitCode : 0)}) while waiting for {what}:\n{string.Join('\n', log)}");
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}:\n{string.Join('\n', log)}");
            await Task.Delay(50);
        }
    }
}
