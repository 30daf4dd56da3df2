using System.Net;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Backends;

/// <summary>
/// The peers a backend has programmed, by subnet. <see cref="Apply"/> turns a lease batch into the
/// removals and additions to perform: a snapshot replaces everything (peers missing from it are
/// removed), an incremental batch adds/replaces or removes single peers. Our own lease and leases
/// the backend does not accept (another BackendType) are skipped.
/// </summary>
internal sealed class PeerTable
{
    private readonly Dictionary<Ip4Net, SubnetLease> _peers = [];
    private readonly Func<SubnetLease, bool> _accept;

    public PeerTable(Func<SubnetLease, bool> accept)
    {
        _accept = accept;
    }

    public IReadOnlyCollection<SubnetLease> Peers => _peers.Values;

    /// <summary>Updates the table; returns what to undo (old state) and what to program, in that order.</summary>
    public (List<SubnetLease> Removed, List<SubnetLease> Added) Apply(LeaseBatch batch, SubnetLease own)
    {
        var removed = new List<SubnetLease>();
        var added = new List<SubnetLease>();
        if (batch.IsSnapshot)
        {
            var wanted = batch.Events.Select(e => e.Lease).Where(l => l.Subnet != own.Subnet && _accept(l)).ToDictionary(l => l.Subnet);
            foreach (SubnetLease old in _peers.Values.ToList())
            {
                if (!wanted.TryGetValue(old.Subnet, out SubnetLease? now) || now.Attrs != old.Attrs)
                {
                    removed.Add(old);
                    _peers.Remove(old.Subnet);
                }
            }

            foreach (SubnetLease lease in wanted.Values)
            {
                _peers[lease.Subnet] = lease;
                added.Add(lease);
            }

            return (removed, added);
        }

        foreach (LeaseEvent e in batch.Events)
        {
            SubnetLease lease = e.Lease;
            if (lease.Subnet == own.Subnet)
            {
                continue;
            }

            if (_peers.TryGetValue(lease.Subnet, out SubnetLease? old) && (e.Type == LeaseEventType.Removed || old.Attrs != lease.Attrs))
            {
                removed.Add(old);
                _peers.Remove(lease.Subnet);
            }

            if (e.Type == LeaseEventType.Added && _accept(lease))
            {
                _peers[lease.Subnet] = lease;
                added.Add(lease);
            }
        }

        return (removed, added);
    }

    public static IPAddress ToIp(uint address) => IPAddress.Parse(Ip4Net.FormatAddress(address));
}
