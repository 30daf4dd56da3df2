using Microsoft.Extensions.Logging;
using Platform.Flannel.IpMasq;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Daemon;

/// <summary>
/// flanneld's iptables rules as flannel's <c>main.go</c> sets them up once the lease is known and
/// before subnet.env is rewritten: masquerading with <c>--ip-masq</c> (recycling the rules of the
/// previous network/subnet read from the old subnet.env; a failure is fatal), forward rules with
/// <c>--iptables-forward-rules</c> (default true; a failure is only logged). Both are re-ensured every
/// <c>--iptables-resync</c> seconds and removed when the returned manager is disposed.
/// </summary>
internal static class TrafficRules
{
    /// <returns>The manager to dispose at shutdown, or null when no rules were asked for.</returns>
    /// <exception cref="IptablesException">The masquerade rules could not be installed.</exception>
    public static async Task<ITrafficManager?> StartAsync(FlanneldFlags flags, Ip4Net network, Ip4Net subnet, ILogger log, CancellationToken stop)
    {
        if (!flags.IpMasq.Value && !flags.IptablesForwardRules.Value)
        {
            return null;
        }

        ITrafficManager manager = TrafficManagers.CreateIptables(new IptablesOptions
        {
            // flannel waits time.After(resync): 0 would spin; one second is the shortest useful period.
            ResyncInterval = TimeSpan.FromSeconds(Math.Max(1, flags.IptablesResync.Value)),
            RandomFullyDisabled = flags.IpMasqFullyRandomDisable.Value,
            Logger = log,
        });
        try
        {
            if (flags.IpMasq.Value)
            {
                Ip4Net? previousNetwork = ReadCidr(flags.SubnetFilePath.Value, "FLANNEL_NETWORK");
                Ip4Net? previousSubnet = ReadCidr(flags.SubnetFilePath.Value, "FLANNEL_SUBNET");
                await manager.SetupMasqueradeAsync(network, subnet, previousNetwork, previousSubnet, stop);
            }

            if (flags.IptablesForwardRules.Value)
            {
                try
                {
                    await manager.SetupForwardAsync(network, stop);
                }
                catch (IptablesException e)
                {
                    log.LogError("Failed to setup forward rules: {Error}", e.Message);
                }
            }

            return manager;
        }
        catch
        {
            await manager.DisposeAsync();
            throw;
        }
    }

    /// <summary>flannel's <c>ReadCIDRFromSubnetFile</c>: the key's CIDR with host bits cleared, or null.</summary>
    private static Ip4Net? ReadCidr(string path, string key)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        string prefix = key + "=";
        foreach (string line in lines)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal) && Ip4Net.TryParse(line[prefix.Length..].Split(',')[0].Trim(), out Ip4Net cidr))
            {
                return cidr;
            }
        }

        return null;
    }
}
