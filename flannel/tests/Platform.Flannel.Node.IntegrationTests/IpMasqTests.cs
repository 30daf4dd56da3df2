using Platform.Flannel.IpMasq;
using Platform.Flannel.Subnets;
using Platform.Testing;

namespace Platform.Flannel.Node.IntegrationTests;

/// <summary>
/// flanneld's iptables rules driven through the real <c>iptables</c>/<c>iptables-restore</c>, each test
/// in a fresh network namespace (iptables state is per namespace). Rule text is compared with
/// what <c>iptables -S</c> prints.
/// </summary>
public sealed class IpMasqTests
{
    private const string Why = "creates network namespaces and edits their iptables";
    private static readonly Ip4Net s_network = Ip4Net.Parse("10.5.0.0/16");
    private static readonly Ip4Net s_subnet = Ip4Net.Parse("10.5.52.0/24");

    private static ITrafficManager Manager(Netns ns, TimeSpan? resync = null, bool randomFullyDisabled = false) =>
        TrafficManagers.CreateIptables(new IptablesOptions
        {
            CommandPrefix = ["nsenter", $"--net={ns.Path}"],
            ResyncInterval = resync ?? TimeSpan.FromMinutes(10),
            RandomFullyDisabled = randomFullyDisabled,
        });

    private static async Task<string[]> RulesAsync(Netns ns, string table) =>
        (await ns.RunAsync("iptables", "--wait", "-t", table, "-S")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string[] Expected(string[] baseline, IEnumerable<IptablesRule> rules, params string[] chains)
    {
        // iptables -S: policies, then -N lines of user chains, then rules chain by chain (built-in first).
        string[] lines = [.. rules.Select(r => r.ToRestoreLine())];
        return
        [
            .. baseline,
            .. chains.Select(c => $"-N {c}"),
            .. lines.Where(l => !chains.Any(c => l.StartsWith($"-A {c} ", StringComparison.Ordinal))),
            .. lines.Where(l => chains.Any(c => l.StartsWith($"-A {c} ", StringComparison.Ordinal))),
        ];
    }

    [RootFact(Why)]
    public async Task Setup_FreshNamespace_RulesExactlyAsFlannel()
    {
        using Netns ns = Netns.Create("flipm");
        string[] natBefore = await RulesAsync(ns, "nat");
        string[] filterBefore = await RulesAsync(ns, "filter");
        await using ITrafficManager manager = Manager(ns);

        await manager.SetupMasqueradeAsync(s_network, s_subnet, null, null, CancellationToken.None);
        await manager.SetupForwardAsync(s_network, CancellationToken.None);

        Assert.Equal(Expected(natBefore, FlannelRules.Masquerade(s_network, s_subnet, randomFully: true), "FLANNEL-POSTRTG"), await RulesAsync(ns, "nat"));
        Assert.Equal(Expected(filterBefore, FlannelRules.Forward(s_network), "FLANNEL-FWD"), await RulesAsync(ns, "filter"));
        Assert.False(await manager.EnsureAsync(CancellationToken.None));

        // Setting up again (a restart over existing rules) leaves exactly one copy of each.
        await using ITrafficManager again = Manager(ns);
        await again.SetupMasqueradeAsync(s_network, s_subnet, s_network, s_subnet, CancellationToken.None);
        Assert.Equal(Expected(natBefore, FlannelRules.Masquerade(s_network, s_subnet, randomFully: true), "FLANNEL-POSTRTG"), await RulesAsync(ns, "nat"));
    }

    [RootFact(Why)]
    public async Task Resync_DeletedRuleAndDeletedChain_ComeBackInOrder()
    {
        using Netns ns = Netns.Create("flipm");
        string[] natBefore = await RulesAsync(ns, "nat");
        string[] filterBefore = await RulesAsync(ns, "filter");
        await using ITrafficManager manager = Manager(ns, resync: TimeSpan.FromMilliseconds(100));
        await manager.SetupMasqueradeAsync(s_network, s_subnet, null, null, CancellationToken.None);
        await manager.SetupForwardAsync(s_network, CancellationToken.None);
        string[] nat = await RulesAsync(ns, "nat");
        string[] filter = await RulesAsync(ns, "filter");

        // A rule in the middle of the chain disappears: the resync loop rebuilds the set.
        IptablesRule victim = FlannelRules.Masquerade(s_network, s_subnet, randomFully: true)[3];
        // (A successful -D proves it was there; the loop may restore it before we look again.)
        await ns.RunAsync(["iptables", "--wait", "-t", "nat", "-D", victim.Chain, .. victim.Spec]);
        await WaitUntilAsync(async () => (await RulesAsync(ns, "nat")).SequenceEqual(nat), "the deleted nat rule to come back");

        // The whole forward chain goes, jump included, in one transaction (the resync loop runs
        // concurrently): both come back.
        (int code, _, string stderr) = await ns.ExecAsync(
            ["iptables-restore", "--noflush", "--wait"],
            stdin: "*filter\n-D FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD\n-F FLANNEL-FWD\n-X FLANNEL-FWD\nCOMMIT\n");
        Assert.True(code == 0, stderr);
        await WaitUntilAsync(async () => (await RulesAsync(ns, "filter")).SequenceEqual(filter), "the forward chain to come back");

        await manager.CleanUpAsync(CancellationToken.None);
        Assert.Equal(natBefore, await RulesAsync(ns, "nat"));
        Assert.Equal(filterBefore, await RulesAsync(ns, "filter"));
    }

    [RootFact(Why)]
    public async Task CleanUp_RemovesJumpsAndChains_ForeignRulesStay()
    {
        using Netns ns = Netns.Create("flipm");
        await ns.RunAsync("iptables", "--wait", "-t", "nat", "-A", "POSTROUTING", "-s", "192.168.9.0/24", "-j", "MASQUERADE");
        string[] natBefore = await RulesAsync(ns, "nat");
        string[] filterBefore = await RulesAsync(ns, "filter");
        ITrafficManager manager = Manager(ns);
        await manager.SetupMasqueradeAsync(s_network, s_subnet, null, null, CancellationToken.None);
        await manager.SetupForwardAsync(s_network, CancellationToken.None);

        await manager.DisposeAsync();

        Assert.Equal(natBefore, await RulesAsync(ns, "nat"));
        Assert.Equal(filterBefore, await RulesAsync(ns, "filter"));
    }

    [RootFact(Why)]
    public async Task Setup_SubnetChanged_OldRulesRecycled_RandomFullyDisabledHonoured()
    {
        using Netns ns = Netns.Create("flipm");
        string[] natBefore = await RulesAsync(ns, "nat");
        Ip4Net oldSubnet = Ip4Net.Parse("10.5.9.0/24");
        await using (ITrafficManager first = Manager(ns, randomFullyDisabled: true))
        {
            await first.SetupMasqueradeAsync(s_network, oldSubnet, null, null, CancellationToken.None);
            Assert.Equal(Expected(natBefore, FlannelRules.Masquerade(s_network, oldSubnet, randomFully: false), "FLANNEL-POSTRTG"), await RulesAsync(ns, "nat"));

            // flanneld stopped without cleaning up (crash): the next one got another subnet.
            await using ITrafficManager second = Manager(ns, randomFullyDisabled: true);
            await second.SetupMasqueradeAsync(s_network, s_subnet, s_network, oldSubnet, CancellationToken.None);
            Assert.Equal(Expected(natBefore, FlannelRules.Masquerade(s_network, s_subnet, randomFully: false), "FLANNEL-POSTRTG"), await RulesAsync(ns, "nat"));
        }

        Assert.Equal(natBefore, await RulesAsync(ns, "nat"));
    }

    [RootFact(Why)]
    public async Task Setup_InNamespace_RootNamespaceUntouched()
    {
        (int _, string rootNatBefore, _) = await Exec.RunAsync(["iptables", "--wait", "-t", "nat", "-S"]);
        (int _, string rootFilterBefore, _) = await Exec.RunAsync(["iptables", "--wait", "-t", "filter", "-S"]);
        using (Netns ns = Netns.Create("flipm"))
        {
            await using ITrafficManager manager = Manager(ns);
            await manager.SetupMasqueradeAsync(s_network, s_subnet, null, null, CancellationToken.None);
            await manager.SetupForwardAsync(s_network, CancellationToken.None);
            Assert.Contains("-N FLANNEL-POSTRTG", await RulesAsync(ns, "nat"));
            Assert.DoesNotContain("FLANNEL-POSTRTG", (await Exec.RunAsync(["iptables", "--wait", "-t", "nat", "-S"])).Stdout, StringComparison.Ordinal);
        }

        Assert.Equal(rootNatBefore, (await Exec.RunAsync(["iptables", "--wait", "-t", "nat", "-S"])).Stdout);
        Assert.Equal(rootFilterBefore, (await Exec.RunAsync(["iptables", "--wait", "-t", "filter", "-S"])).Stdout);
    }

    [Fact]
    public async Task Setup_MissingIptablesBinary_ClearError()
    {
        await using ITrafficManager manager = TrafficManagers.CreateIptables(new IptablesOptions { IptablesPath = "/nonexistent/iptables" });
        var e = await Assert.ThrowsAsync<IptablesException>(() => manager.SetupForwardAsync(s_network, CancellationToken.None));
        Assert.Contains("/nonexistent/iptables", e.Message, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        // Polls with a generous deadline; the resync interval is 100 ms.
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
