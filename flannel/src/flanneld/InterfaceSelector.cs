using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Platform.Flannel.Backends;
using Platform.Linux;
using Platform.Linux.Netlink;

namespace Platform.Flannel.Daemon;

/// <summary>
/// flannel's external interface choice (<c>pkg/ipmatch</c>): each <c>--iface</c> (name or IP) in
/// order, then each <c>--iface-regex</c> against names and IPs, else the interface of the default
/// route (<c>/proc/net/route</c>). The first IPv4 address is used; <c>--public-ip</c> overrides what
/// peers are told.
/// </summary>
internal static class InterfaceSelector
{
    /// <exception cref="InvalidOperationException">No interface matched; the message says why.</exception>
    public static ExternalInterface Select(IReadOnlyList<string> ifaces, IReadOnlyList<string> regexes, string publicIp)
    {
        NetworkInterface[] all = NetworkInterface.GetAllNetworkInterfaces();
        (NetworkInterface Nic, IPAddress Address)? chosen = null;
        foreach (string spec in ifaces)
        {
            chosen = Match(all, spec);
            if (chosen is not null)
            {
                break;
            }
        }

        if (chosen is null && ifaces.Count > 0)
        {
            throw new InvalidOperationException($"failed to find interface to use that matches the interfaces: [{string.Join(' ', ifaces)}]");
        }

        if (chosen is null && regexes.Count > 0)
        {
            foreach (string pattern in regexes)
            {
                var regex = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
                foreach (NetworkInterface nic in all)
                {
                    IPAddress? match = V4(nic).FirstOrDefault(a => regex.IsMatch(a.ToString()))
                        ?? (regex.IsMatch(nic.Name) ? V4(nic).FirstOrDefault() : null);
                    if (match is not null)
                    {
                        chosen = (nic, match);
                        break;
                    }
                }

                if (chosen is not null)
                {
                    break;
                }
            }

            if (chosen is null)
            {
                throw new InvalidOperationException($"failed to find interface to use that matches the interface regexes: [{string.Join(' ', regexes)}]");
            }
        }

        if (chosen is null)
        {
            string name = DefaultRouteInterface() ?? throw new InvalidOperationException("failed to get default interface: no default route");
            NetworkInterface nic = all.FirstOrDefault(n => n.Name == name) ?? throw new InvalidOperationException($"failed to get default interface: {name} not found");
            IPAddress address = V4(nic).FirstOrDefault() ?? throw new InvalidOperationException($"failed to find IPv4 address for interface {name}");
            chosen = (nic, address);
        }

        (NetworkInterface chosenNic, IPAddress chosenAddress) = chosen.Value;
        string publicAddress = string.IsNullOrEmpty(publicIp) ? chosenAddress.ToString() : publicIp;
        return new ExternalInterface(chosenNic.Name, chosenAddress.ToString(), publicAddress, Mtu(chosenNic.Name));
    }

    private static (NetworkInterface Nic, IPAddress Address)? Match(NetworkInterface[] all, string spec)
    {
        if (IPAddress.TryParse(spec, out IPAddress? ip))
        {
            NetworkInterface? holder = all.FirstOrDefault(n => V4(n).Contains(ip));
            return holder is null ? null : (holder, ip);
        }

        NetworkInterface? named = all.FirstOrDefault(n => n.Name == spec);
        IPAddress? first = named is null ? null : V4(named).FirstOrDefault();
        return named is null || first is null ? null : (named, first);
    }

    private static IEnumerable<IPAddress> V4(NetworkInterface nic) =>
        nic.GetIPProperties().UnicastAddresses.Select(u => u.Address).Where(a => a.AddressFamily == AddressFamily.InterNetwork);

    private static int Mtu(string name)
    {
        // From rtnetlink, not /sys/class/net: sysfs shows the namespace it was mounted in, which is not
        // ours when flanneld is started inside a network namespace without remounting /sys.
        try
        {
            using IRtNetlink netlink = RtNetlink.Open();
            return netlink.GetLink(name)?.Mtu ?? 1500;
        }
        catch (LinuxException)
        {
            // Ethernet's MTU when the kernel cannot tell.
            return 1500;
        }
    }

    private static string? DefaultRouteInterface()
    {
        try
        {
            // Iface Destination Gateway ...; the default route has destination 00000000.
            return File.ReadLines("/proc/net/route").Skip(1)
                .Select(l => l.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .FirstOrDefault(f => f.Length > 2 && f[1] == "00000000")?[0];
        }
        catch (IOException)
        {
            return null;
        }
    }
}
