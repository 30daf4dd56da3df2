using Platform.Kola.Platforms;
using Platform.Kola.Registry;

namespace Platform.Kola.Cli.Tests;

/// <summary>Every test <c>kola run</c> knows, registered as data (kola's register.Register calls).</summary>
internal static class RegisteredTests
{
    public static TestRegistry Create()
    {
        var registry = new TestRegistry();
        registry.Register(new KolaTest
        {
            Name = "cloudinit.basic",
            ClusterSize = 1,
            Timeout = TimeSpan.FromMinutes(2),
            UserData = """
                #cloud-config
                hostname: kola-basic
                write_files:
                  - path: /etc/kola/greeting
                    permissions: "0600"
                    content: |
                      hello from $private_ipv4
                coreos:
                  units:
                    - name: kola-hello.service
                      command: start
                      content: |
                        [Service]
                        Type=oneshot
                        RemainAfterExit=yes
                        ExecStart=/bin/sh -c 'echo kola-hello ran on $$(hostname)'
                """,
            Run = CloudInitBasicAsync,
        });
        registry.Register(new KolaTest { Name = "etcd.discovery", ClusterSize = 3, UserData = CloudConfigs.Etcd(), Timeout = TimeSpan.FromMinutes(3), Run = EtcdDiscoveryAsync });
        registry.Register(new KolaTest { Name = "etcd.member-loss", ClusterSize = 3, UserData = CloudConfigs.Etcd(), Timeout = TimeSpan.FromMinutes(4), Run = EtcdMemberLossAsync });
        foreach ((string name, string backend) in (ReadOnlySpan<(string, string)>)[("hostgw", "host-gw"), ("vxlan", "vxlan"), ("udp", "udp")])
        {
            registry.Register(new KolaTest
            {
                Name = "flannel." + name,
                ClusterSize = 3,
                UserData = CloudConfigs.Flannel(backend),
                Timeout = TimeSpan.FromMinutes(4),
                Run = (c, ct) => FlannelAsync(c, backend, ct),
            });
        }

        registry.Register(new KolaTest { Name = "rkt.run", ClusterSize = 1, Timeout = TimeSpan.FromMinutes(2), Run = RktRunAsync });
        registry.Register(new KolaTest { Name = "platform.smoke", ClusterSize = 3, UserData = CloudConfigs.Flannel("vxlan"), Timeout = TimeSpan.FromMinutes(4), Run = SmokeAsync });
        return registry;
    }

    /// <summary>Everything <c>kola up</c> checks too: etcd formed, each machine's services active, pods reach each other across machines.</summary>
    public static async Task<IReadOnlyList<(IMachine Machine, string Uuid, string Ip)>> VerifyPlatformAsync(ClusterChecks checks, IReadOnlyList<IMachine> machines, CancellationToken ct)
    {
        await checks.EtcdHealthyAsync(machines, machines.Count, ct).ConfigureAwait(false);
        foreach (IMachine machine in machines)
        {
            await checks.WaitForAsync(machine, "systemctl is-active etcd2.service flanneld.service kola-pod.service", _ => true, TimeSpan.FromSeconds(60), "etcd2, flanneld and the pod unit active", ct).ConfigureAwait(false);
        }

        IReadOnlyList<(IMachine Machine, string Uuid, string Ip)> pods = await checks.RunningPodsAsync(machines, "flannel", ct).ConfigureAwait(false);
        await checks.PodsReachEachOtherAsync(pods, ct).ConfigureAwait(false);
        return pods;
    }

    private static async Task CloudInitBasicAsync(TestCluster c, CancellationToken ct)
    {
        IMachine m = c.Machines[0];
        Expect(await c.MustRunAsync(m, "hostname", ct).ConfigureAwait(false), "kola-basic", "hostname");
        Expect(await c.MustRunAsync(m, "cat /etc/kola/greeting", ct).ConfigureAwait(false), $"hello from {m.PrivateIP}", "/etc/kola/greeting ($private_ipv4 substituted)");
        Expect(await c.MustRunAsync(m, "stat -c %a /etc/kola/greeting", ct).ConfigureAwait(false), "600", "the greeting's mode");
        Expect(await c.MustRunAsync(m, "systemctl is-active kola-hello.service", ct).ConfigureAwait(false), "active", "kola-hello.service");
        string journal = await c.MustRunAsync(m, "journalctl -u kola-hello.service --no-pager", ct).ConfigureAwait(false);
        if (!journal.Contains("kola-hello ran on kola-basic", StringComparison.Ordinal))
        {
            TestCluster.Fail($"the unit's output is not in its journal: {journal}");
        }

        // The host's files are untouched: the machine's /etc is its own.
        if (File.Exists("/etc/kola/greeting"))
        {
            TestCluster.Fail("the machine's write_files reached the host's /etc");
        }
    }

    private static async Task EtcdDiscoveryAsync(TestCluster c, CancellationToken ct)
    {
        var checks = new ClusterChecks(c.Log);
        await checks.EtcdHealthyAsync(c.Machines, 3, ct).ConfigureAwait(false);
        string members = await c.MustRunAsync(c.Machines[0], "etcdctl member list", ct).ConfigureAwait(false);
        foreach (IMachine m in c.Machines)
        {
            if (!members.Contains($"http://{m.PrivateIP}:2380", StringComparison.Ordinal))
            {
                TestCluster.Fail($"{m.Id} ({m.PrivateIP}) is not a member: {members}");
            }
        }

        await c.MustRunAsync(c.Machines[0], "etcdctl put /kola/discovery formed", ct).ConfigureAwait(false);
        foreach (IMachine m in c.Machines)
        {
            Expect(await c.MustRunAsync(m, "etcdctl get --print-value-only /kola/discovery", ct).ConfigureAwait(false), "formed", $"the value read on {m.Id}");
        }
    }

    private static async Task EtcdMemberLossAsync(TestCluster c, CancellationToken ct)
    {
        var checks = new ClusterChecks(c.Log);
        await checks.EtcdHealthyAsync(c.Machines, 3, ct).ConfigureAwait(false);
        IMachine lost = c.Machines[2];
        c.Log($"killing {lost.Id}");
        await lost.KillAsync(ct).ConfigureAwait(false);
        for (int i = 0; i < 5; i++)
        {
            await checks.WaitForAsync(c.Machines[i % 2], $"etcdctl --command-timeout=5s put /kola/loss/{i} v{i}", _ => true, TimeSpan.FromSeconds(30), $"write {i} with one member down", ct).ConfigureAwait(false);
        }

        c.Log($"restarting {lost.Id}");
        await lost.RestartAsync(ct).ConfigureAwait(false);
        await checks.EtcdHealthyAsync(c.Machines, 3, ct).ConfigureAwait(false);
        await checks.WaitForAsync(lost, "etcdctl get --print-value-only /kola/loss/4", output => output.Trim() == "v4", TimeSpan.FromSeconds(60), "the writes made while it was down", ct).ConfigureAwait(false);
        string values = await c.MustRunAsync(lost, "etcdctl get --prefix --print-value-only /kola/loss/", ct).ConfigureAwait(false);
        Expect(string.Join(' ', values.Split('\n', StringSplitOptions.RemoveEmptyEntries)), "v0 v1 v2 v3 v4", "the writes the rejoined member holds");
    }

    private static async Task FlannelAsync(TestCluster c, string backend, CancellationToken ct)
    {
        var checks = new ClusterChecks(c.Log);
        await checks.EtcdHealthyAsync(c.Machines, 3, ct).ConfigureAwait(false);
        var subnets = new HashSet<string>(StringComparer.Ordinal);
        foreach (IMachine m in c.Machines)
        {
            string env = await checks.WaitForAsync(m, "cat /run/flannel/subnet.env", o => o.Contains("FLANNEL_SUBNET=", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "flannel's subnet.env", ct).ConfigureAwait(false);
            string subnet = env.Split('\n').First(l => l.StartsWith("FLANNEL_SUBNET=", StringComparison.Ordinal))["FLANNEL_SUBNET=".Length..];
            if (!subnets.Add(subnet))
            {
                TestCluster.Fail($"{m.Id} got subnet {subnet}, which another machine has too");
            }
        }

        string leases = await c.MustRunAsync(c.Machines[0], "etcdctl get --prefix --keys-only /coreos.com/network/subnets", ct).ConfigureAwait(false);
        if (leases.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length != 3)
        {
            TestCluster.Fail($"expected 3 subnet leases in etcd, found: {leases}");
        }

        string lease = await c.MustRunAsync(c.Machines[0], "etcdctl get --print-value-only --prefix /coreos.com/network/subnets", ct).ConfigureAwait(false);
        // flannel's udp backend writes no BackendType into its leases; the others name themselves.
        if (backend != "udp" && !lease.Contains($"\"BackendType\":\"{backend}\"", StringComparison.Ordinal))
        {
            TestCluster.Fail($"the leases do not name backend {backend}: {lease}");
        }

        IReadOnlyList<(IMachine Machine, string Uuid, string Ip)> pods = await checks.RunningPodsAsync(c.Machines, "flannel", ct).ConfigureAwait(false);
        await checks.PodsReachEachOtherAsync(pods, ct).ConfigureAwait(false);
    }

    private static async Task RktRunAsync(TestCluster c, CancellationToken ct)
    {
        IMachine m = c.Machines[0];
        await c.MustRunAsync(m, $"rkt fetch --insecure-options=image,http {CloudConfigs.BusyboxUrl}", ct).ConfigureAwait(false);
        string images = await c.MustRunAsync(m, "rkt image list --no-legend", ct).ConfigureAwait(false);
        if (!images.Contains("kola.test/busybox", StringComparison.Ordinal))
        {
            TestCluster.Fail($"the fetched image is not in the store: {images}");
        }

        string output = await c.MustRunAsync(m, "rkt run --insecure-options=image --net=default kola.test/busybox --exec /bin/sh -- -c 'echo kola-rkt-ok; ip -4 addr show eth0'", ct).ConfigureAwait(false);
        if (!output.Contains("kola-rkt-ok", StringComparison.Ordinal) || !output.Contains("inet 172.16.28.", StringComparison.Ordinal))
        {
            TestCluster.Fail($"the pod's output lacks its greeting or its default-network address: {output}");
        }

        string pods = await c.MustRunAsync(m, "rkt list --format=json", ct).ConfigureAwait(false);
        if (!pods.Contains("\"exit_code\":0", StringComparison.Ordinal))
        {
            TestCluster.Fail($"rkt list does not show the pod exited with 0: {pods}");
        }

        await c.MustRunAsync(m, "rkt gc --grace-period=0s", ct).ConfigureAwait(false);
    }

    private static async Task SmokeAsync(TestCluster c, CancellationToken ct)
    {
        var checks = new ClusterChecks(c.Log);
        await VerifyPlatformAsync(checks, c.Machines, ct).ConfigureAwait(false);
        foreach (IMachine m in c.Machines)
        {
            string failed = await c.MustRunAsync(m, "systemctl list-units --no-legend", ct).ConfigureAwait(false);
            if (failed.Contains(" failed ", StringComparison.Ordinal))
            {
                TestCluster.Fail($"{m.Id} has failed units: {failed}");
            }
        }
    }

    private static void Expect(string actual, string expected, string what)
    {
        if (!string.Equals(actual.Trim(), expected, StringComparison.Ordinal))
        {
            TestCluster.Fail($"{what}: expected \"{expected}\", got \"{actual.Trim()}\"");
        }
    }
}
