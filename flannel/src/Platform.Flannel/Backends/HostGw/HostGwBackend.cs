using System.Net;
using Microsoft.Extensions.Logging;
using Platform.Flannel.Config;
using Platform.Flannel.Subnets;
using Platform.Linux;
using Platform.Linux.Netlink;

namespace Platform.Flannel.Backends.HostGw;

/// <summary>
/// flannel's <c>host-gw</c> backend (<c>pkg/backend/hostgw</c> + <c>l3backend</c>): per remote subnet a
/// route <c>subnet via PublicIP dev extIface</c>, so hosts must share an L2 segment. Refuses to run when
/// the PublicIP differs from the interface address (NAT). Routes are re-checked every 10 s and put back
/// if someone deleted them. The lease carries <c>"BackendType":"host-gw"</c> and no data; MTU = interface.
/// </summary>
internal sealed class HostGwBackend : IBackend
{
    public const string TypeName = "host-gw";

    // flannel's routeCheckRetries: the interval of the route re-check loop.
    private static readonly TimeSpan s_routeCheckInterval = TimeSpan.FromSeconds(10);

    private readonly BackendContext _context;
    private readonly ILogger _log;
    private readonly PeerTable _peers = new(l => l.Attrs.BackendType == TypeName);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private IRtNetlink? _netlink;
    private int _linkIndex;
    private Task? _routeCheck;

    public HostGwBackend(BackendContext context)
    {
        _context = context;
        _log = context.Logger;
        ExternalInterface iface = context.ExternalInterface;
        if (iface.PublicIP != iface.Address)
        {
            throw new BackendException("your PublicIP differs from interface IP, meaning that probably you're on a NAT, which is not supported by host-gw backend");
        }
    }

    public Task<BackendRegistration> RegisterNetworkAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        _netlink = _context.Namespace is null ? RtNetlink.Open() : RtNetlink.Open(_context.Namespace);
        Link link = _netlink.GetLink(_context.ExternalInterface.Name)
            ?? throw new BackendException($"failed to find interface {_context.ExternalInterface.Name}");
        _linkIndex = link.Index;
        _routeCheck = RouteCheckLoopAsync(_stop.Token);
        return Task.FromResult(new BackendRegistration(TypeName, null, _context.ExternalInterface.Mtu));
    }

    public async Task HandleLeasesAsync(LeaseBatch batch, SubnetLease ownLease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(ownLease);
        IRtNetlink netlink = _netlink ?? throw new InvalidOperationException("RegisterNetworkAsync first");
        await _lock.WaitAsync(cancellationToken);
        try
        {
            (List<SubnetLease> removed, List<SubnetLease> added) = _peers.Apply(batch, ownLease);
            foreach (SubnetLease lease in removed)
            {
                _log.LogInformation("Removing route to {Subnet} via {PublicIP}", lease.Subnet.ToString(), lease.Attrs.PublicIP);
                try
                {
                    netlink.DeleteRoute(RouteFor(lease));
                }
                catch (LinuxException e) when (e.Errno == 3)
                {
                    // ESRCH: already gone.
                }
                catch (LinuxException e)
                {
                    _log.LogError("Error deleting route to {Subnet}: {Error}", lease.Subnet.ToString(), e.Message);
                }
            }

            foreach (SubnetLease lease in added)
            {
                AddRoute(netlink, lease);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_routeCheck is not null)
        {
            await _routeCheck.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        _netlink?.Dispose();
        _stop.Dispose();
        _lock.Dispose();
    }

    private Route RouteFor(SubnetLease lease) => new()
    {
        Destination = PeerTable.ToIp(lease.Subnet.Address),
        PrefixLength = lease.Subnet.PrefixLength,
        Gateway = IPAddress.Parse(lease.Attrs.PublicIP),
        OutputIndex = _linkIndex,
    };

    private void AddRoute(IRtNetlink netlink, SubnetLease lease)
    {
        _log.LogInformation("Adding route to {Subnet} via {PublicIP}", lease.Subnet.ToString(), lease.Attrs.PublicIP);
        try
        {
            // Replace: a stale route to the subnet with another gateway is overwritten, as flannel deletes and re-adds it.
            netlink.ReplaceRoute(RouteFor(lease));
        }
        catch (LinuxException e)
        {
            // E.g. ENETUNREACH when the peer is not on our L2 segment; flannel logs and carries on.
            _log.LogError("Error adding route to {Subnet}: {Error}", lease.Subnet.ToString(), e.Message);
        }
    }

    private async Task RouteCheckLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(s_routeCheckInterval);
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
        {
            await _lock.WaitAsync(stop).ConfigureAwait(false);
            try
            {
                IReadOnlyList<Route> present = _netlink!.GetRoutes();
                foreach (SubnetLease lease in _peers.Peers)
                {
                    Route wanted = RouteFor(lease);
                    if (!present.Any(r => r.Destination.Equals(wanted.Destination) && r.PrefixLength == wanted.PrefixLength && Equals(r.Gateway, wanted.Gateway)))
                    {
                        _log.LogInformation("Route to {Subnet} via {PublicIP} is missing, restoring", lease.Subnet.ToString(), lease.Attrs.PublicIP);
                        AddRoute(_netlink, lease);
                    }
                }
            }
            catch (LinuxException e)
            {
                _log.LogError("Error checking routes: {Error}", e.Message);
            }
            finally
            {
                _lock.Release();
            }
        }
    }
}
