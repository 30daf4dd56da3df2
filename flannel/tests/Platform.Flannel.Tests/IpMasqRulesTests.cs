using Platform.Flannel.IpMasq;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Tests;

/// <summary>flannel's iptables rules, in the exact text and order of its <c>masqRules</c>/<c>forwardRules</c>.</summary>
public sealed class IpMasqRulesTests
{
    [Fact]
    public void Masquerade_RandomFully_FlannelsSevenRulesInOrder()
    {
        IReadOnlyList<IptablesRule> rules = FlannelRules.Masquerade(Ip4Net.Parse("10.5.0.0/16"), Ip4Net.Parse("10.5.52.0/24"), randomFully: true);
        Assert.Equal(
            [
                "-t nat -A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG",
                "-t nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment \"flanneld masq\" -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 10.5.52.0/24 -d 10.5.0.0/16 -m comment --comment \"flanneld masq\" -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 10.5.0.0/16 -d 10.5.52.0/24 -m comment --comment \"flanneld masq\" -j RETURN",
                "-t nat -A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.52.0/24 -m comment --comment \"flanneld masq\" -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully",
                "-t nat -A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.0.0/16 -m comment --comment \"flanneld masq\" -j MASQUERADE --random-fully",
            ],
            rules.Select(r => r.ToString()));
    }

    [Fact]
    public void Masquerade_WithoutRandomFully_PlainMasquerade()
    {
        IReadOnlyList<IptablesRule> rules = FlannelRules.Masquerade(Ip4Net.Parse("10.5.0.0/16"), Ip4Net.Parse("10.5.52.0/24"), randomFully: false);
        Assert.Equal(2, rules.Count(r => r.Spec[^1] == "MASQUERADE"));
        Assert.DoesNotContain(rules, r => r.Spec.Contains("--random-fully"));
    }

    [Fact]
    public void Forward_JumpAndTwoAccepts()
    {
        Assert.Equal(
            [
                "-t filter -A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD",
                "-t filter -A FLANNEL-FWD -s 10.5.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT",
                "-t filter -A FLANNEL-FWD -d 10.5.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT",
            ],
            FlannelRules.Forward(Ip4Net.Parse("10.5.0.0/16")).Select(r => r.ToString()));
    }
}
