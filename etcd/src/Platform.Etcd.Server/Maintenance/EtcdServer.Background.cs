using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Maintenance;
using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    /// <summary>Timers that run once the member serves: lease expiry, v2 SYNC, auto compaction, and publishing our attributes.</summary>
    private async Task StartBackgroundLoopsAsync(CancellationToken cancellationToken)
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
        // As etcd's ReadyNotify: a member serves once its attributes are published, which takes a
        // leader and a commit (alone, one local commit). Until then clients would only get errors.
        using var publishing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await PublishAttributesAsync(publishing.Token).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void StopBackgroundLoops()
    {
        _leaseTimer?.Dispose();
        _v2SyncTimer?.Dispose();
    }

    /// <summary>etcd's publish: our name and client URLs go into the member list through raft.</summary>
    private async Task PublishAttributesAsync(CancellationToken cancellationToken)
    {
        var urls = _options.EffectiveAdvertiseClientUrls;
        var attributes = new Proto.MemberAttributes { Name = _options.Name };
        attributes.ClientUrls.AddRange(urls);

        // As etcd's publish: retried until it commits (a member may start before a quorum is up).
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ProposeAsync(
                    new Proto.InternalRaftRequest { ClusterMemberAttrSet = new Proto.ClusterMemberAttrSetRequest { MemberID = MemberId, MemberAttributes = attributes } },
                    null,
                    cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("etcdserver: published local member to cluster through raft (name {Name}, client URLs {Urls})", _options.Name, string.Join(",", urls));
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (EtcdException e)
            {
                _logger.LogWarning("etcdserver: publishing member attributes failed ({Error}); retrying", e.Message);
                if (_removedReason is not null || _loopFault is not null || Volatile.Read(ref _disposed) != 0)
                {
                    return;
                }

                try
                {
                    await Task.Delay(_options.HeartbeatInterval * 5, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
