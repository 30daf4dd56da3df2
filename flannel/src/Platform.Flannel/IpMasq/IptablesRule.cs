using Platform.Flannel.Subnets;

namespace Platform.Flannel.IpMasq;

/// <summary>One iptables rule: appended (<c>-A</c>) to <paramref name="Chain"/> of <paramref name="Table"/>.</summary>
public sealed record IptablesRule(string Table, string Chain, IReadOnlyList<string> Spec)
{
    /// <summary>The rule as <c>iptables -S</c> and <c>iptables-restore</c> write it (arguments with spaces quoted).</summary>
    public string ToRestoreLine(string action = "-A") =>
        $"{action} {Chain} {string.Join(' ', Spec.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))}";

    public override string ToString() => $"-t {Table} {ToRestoreLine()}";
}

/// <summary>
/// flannel's iptables rules (<c>pkg/trafficmngr/iptables</c>, v0.2x), re-expressed. Every rule carries
/// the comment <c>flanneld masq</c> or <c>flanneld forward</c>; order matters (first match wins).
/// </summary>
public static class FlannelRules
{
    public const string MasqChain = "FLANNEL-POSTRTG";
    public const string ForwardChain = "FLANNEL-FWD";

    /// <summary>kube-proxy marks packets it will masquerade itself; flannel leaves them alone (double NAT).</summary>
    public const string KubeProxyMark = "0x4000/0x4000";

    private const string MasqComment = "flanneld masq";
    private const string ForwardComment = "flanneld forward";

    /// <summary>
    /// nat rules: POSTROUTING jumps to FLANNEL-POSTRTG, which returns for kube-proxy-marked packets,
    /// pod subnet → network, network → pod subnet and outside → pod subnet; masquerades network →
    /// outside except multicast (224.0.0.0/4), and outside → network (e.g. the host reaching pods).
    /// <c>--random-fully</c> on both MASQUERADE rules when <paramref name="randomFully"/>.
    /// </summary>
    public static IReadOnlyList<IptablesRule> Masquerade(Ip4Net network, Ip4Net podSubnet, bool randomFully)
    {
        string cluster = network.ToString();
        string pod = podSubnet.ToString();
        string[] masquerade = randomFully ? ["-j", "MASQUERADE", "--random-fully"] : ["-j", "MASQUERADE"];
        return
        [
            new("nat", "POSTROUTING", ["-m", "comment", "--comment", MasqComment, "-j", MasqChain]),
            new("nat", MasqChain, ["-m", "mark", "--mark", KubeProxyMark, "-m", "comment", "--comment", MasqComment, "-j", "RETURN"]),
            new("nat", MasqChain, ["-s", pod, "-d", cluster, "-m", "comment", "--comment", MasqComment, "-j", "RETURN"]),
            new("nat", MasqChain, ["-s", cluster, "-d", pod, "-m", "comment", "--comment", MasqComment, "-j", "RETURN"]),
            new("nat", MasqChain, ["!", "-s", cluster, "-d", pod, "-m", "comment", "--comment", MasqComment, "-j", "RETURN"]),
            new("nat", MasqChain, ["-s", cluster, "!", "-d", "224.0.0.0/4", "-m", "comment", "--comment", MasqComment, .. masquerade]),
            new("nat", MasqChain, ["!", "-s", cluster, "-d", cluster, "-m", "comment", "--comment", MasqComment, .. masquerade]),
        ];
    }

    /// <summary>filter rules: FORWARD jumps to FLANNEL-FWD, which accepts traffic from and to the network (Docker ≥ 1.13 sets FORWARD's policy to DROP).</summary>
    public static IReadOnlyList<IptablesRule> Forward(Ip4Net network)
    {
        string cluster = network.ToString();
        return
        [
            new("filter", "FORWARD", ["-m", "comment", "--comment", ForwardComment, "-j", ForwardChain]),
            new("filter", ForwardChain, ["-s", cluster, "-m", "comment", "--comment", ForwardComment, "-j", "ACCEPT"]),
            new("filter", ForwardChain, ["-d", cluster, "-m", "comment", "--comment", ForwardComment, "-j", "ACCEPT"]),
        ];
    }

    /// <summary>The flannel chain a rule lives in or jumps to, if any.</summary>
    internal static string? FlannelChainOf(IptablesRule rule) =>
        rule.Chain is MasqChain or ForwardChain ? rule.Chain
            : rule.Spec[^1] is MasqChain or ForwardChain ? rule.Spec[^1]
            : null;
}
