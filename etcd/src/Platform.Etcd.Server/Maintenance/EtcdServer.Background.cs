using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Maintenance;
using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    /// <summary>Timers that run once the member serves: lease expiry, v2 SYNC, auto compaction, and publishing our attributes.</summary>
    private async Task StartBackgroundLoopsAsync()
    {
        ServerMetrics.SetQuota(_options.QuotaBackendBytes == 0 ? Storage.Mvcc.MvccOptions.DefaultQuotaBackendBytes : _options.QuotaBackendBytes);
        StartLeaseLoop();
        StartV2Sync();
        _autoCompactor = AutoCompactor.Create(
            _options,
            () => IsLeader,
            () => _kv.CurrentRevision,
            rev => CompactAsync(new CompactionRequest { Revision = rev }, RequestContext.Anonymous, _stopping.Token).AsTask(),
            _options.LoggerFactory.CreateLogger("compactor"));
        Task publish = PublishAttributesAsync();
        if (_membership.VoterIds().Count == 1)
        {
            // As etcd's ReadyNotify: a member serves once its attributes are published; alone, that
            // takes one local commit.
            await publish.ConfigureAwait(false);
        }
    }

    private void StopBackgroundLoops()
    {
        _leaseTimer?.Dispose();
        _v2SyncTimer?.Dispose();
    }

    /// <summary>etcd's publish: our name and client URLs go into the member list through raft.</summary>
    private async Task PublishAttributesAsync()
    {
        Api.Member? self = _membership.Get(MemberId);
        var urls = _options.EffectiveAdvertiseClientUrls;
        if (self is not null && self.Name == _options.Name && self.ClientURLs.SequenceEqual(urls))
        {
            return;
        }

        var attributes = new Proto.MemberAttributes { Name = _options.Name };
        attributes.ClientUrls.AddRange(urls);
        try
        {
            await ProposeAsync(
                new Proto.InternalRaftRequest { ClusterMemberAttrSet = new Proto.ClusterMemberAttrSetRequest { MemberID = MemberId, MemberAttributes = attributes } },
                null,
                _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EtcdException or OperationCanceledException)
        {
            _logger.LogWarning(e, "etcdserver: publishing member attributes failed");
        }
    }
}
