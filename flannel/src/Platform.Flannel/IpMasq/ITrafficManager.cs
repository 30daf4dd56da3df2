using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.IpMasq;

/// <summary>
/// flanneld's host rules (flannel's <c>TrafficManager</c>): masquerading for <c>--ip-masq</c> and the
/// FORWARD accept rules for <c>--iptables-forward-rules</c>. Installed in order with one
/// <c>iptables-restore --noflush</c> per table, re-checked every <see cref="IptablesOptions.ResyncInterval"/>
/// and rebuilt only when one is missing; <see cref="CleanUpAsync"/> (or disposal) removes every rule
/// and both chains.
/// </summary>
public interface ITrafficManager : IAsyncDisposable
{
    /// <summary>
    /// Installs the masquerade rules for <paramref name="network"/> and this host's
    /// <paramref name="subnet"/>, first removing the rules of the previous network/subnet (from the old
    /// subnet.env) when they differ, and keeps them ensured.
    /// </summary>
    /// <exception cref="IptablesException">iptables failed (missing binary, no permission, ...).</exception>
    public Task SetupMasqueradeAsync(Ip4Net network, Ip4Net subnet, Ip4Net? previousNetwork, Ip4Net? previousSubnet, CancellationToken cancellationToken);

    /// <summary>Installs the FLANNEL-FWD accept rules for <paramref name="network"/> and keeps them ensured.</summary>
    /// <exception cref="IptablesException">iptables failed.</exception>
    public Task SetupForwardAsync(Ip4Net network, CancellationToken cancellationToken);

    /// <summary>One resync pass now: returns true when a rule was missing and the set was rebuilt.</summary>
    public Task<bool> EnsureAsync(CancellationToken cancellationToken);

    /// <summary>Stops the resync loop and removes the jump rules and both flannel chains; idempotent.</summary>
    public Task CleanUpAsync(CancellationToken cancellationToken);
}

/// <summary>Options of <see cref="TrafficManagers.CreateIptables"/>.</summary>
public sealed class IptablesOptions
{
    public string IptablesPath { get; init; } = "iptables";

    public string IptablesRestorePath { get; init; } = "iptables-restore";

    /// <summary>Argv prepended to every command, e.g. <c>nsenter --net=PATH</c> to work in another network namespace (tests).</summary>
    public IReadOnlyList<string> CommandPrefix { get; init; } = [];

    /// <summary>flanneld's <c>--iptables-resync</c> (default 5 s).</summary>
    public TimeSpan ResyncInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>flanneld's <c>--ip-masq-fully-random-disable</c>.</summary>
    public bool RandomFullyDisabled { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>An iptables command failed.</summary>
public sealed class IptablesException(string message) : Exception(message);

public static class TrafficManagers
{
    /// <summary>A manager that drives the <c>iptables</c> and <c>iptables-restore</c> binaries, as flannel does through go-iptables.</summary>
    public static ITrafficManager CreateIptables(IptablesOptions options) => new IptablesTrafficManager(options);
}
