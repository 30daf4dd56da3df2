using Microsoft.Extensions.Logging;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.V2Store;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    // etcd's leader proposes a SYNC (expiring v2 TTL keys) every 500 ms when some exist.
    private static readonly TimeSpan s_v2SyncInterval = TimeSpan.FromMilliseconds(500);
    private ITimer? _v2SyncTimer;

    public ulong V2Index => _v2.Index;

    public async ValueTask<V2Event> V2DoAsync(V2Request request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfV2Disabled();
        if (request.Method == "GET" && !request.Quorum)
        {
            return _v2.Get(request.Path, request.Recursive, request.Sorted, _time.GetUtcNow());
        }

        var v2 = new Request
        {
            Method = request.Method,
            Path = request.Path,
            Val = request.Value ?? string.Empty,
            Dir = request.Dir,
            PrevValue = request.PrevValue ?? string.Empty,
            PrevIndex = request.PrevIndex,
            Recursive = request.Recursive,
            Sorted = request.Sorted,
            Quorum = request.Quorum,
            Time = ToUnixNanos(_time.GetUtcNow()),
            TtlSeconds = request.TtlCleared ? -1 : request.Ttl ?? -1,
        };
        if (request.PrevExist is bool prevExist)
        {
            v2.PrevExist = prevExist;
        }

        if (request.Refresh)
        {
            v2.Refresh = true;
        }

        ApplyResult result = await ProposeAsync(new InternalRaftRequest { V2 = v2 }, null, cancellationToken).ConfigureAwait(false);
        return (V2Event)result.Response!;
    }

    public IV2Watcher V2Watch(string path, bool recursive, bool stream, ulong sinceIndex)
    {
        ThrowIfV2Disabled();
        return _v2.Watch(path, recursive, stream, sinceIndex);
    }

    /// <summary>Applies a v2 request with the proposer's time as "now" (deterministic on every member).</summary>
    private ApplyResult ApplyV2(Request r)
    {
        DateTimeOffset now = FromUnixNanos(r.Time);
        var ttl = new V2TtlOptions(r.TtlSeconds >= 0 ? TimeSpan.FromSeconds(r.TtlSeconds) : null, r.HasRefresh && r.Refresh);
        try
        {
            V2Event? e = r.Method switch
            {
                "POST" => _v2.Create(r.Path, r.Dir, r.Val, unique: true, ttl, now),
                "PUT" => ApplyV2Put(r, ttl, now),
                "DELETE" => r.PrevIndex > 0 || r.PrevValue.Length > 0
                    ? _v2.CompareAndDelete(r.Path, r.PrevValue, r.PrevIndex, now)
                    : _v2.Delete(r.Path, r.Dir, r.Recursive, now),
                "QGET" or "GET" => _v2.Get(r.Path, r.Recursive, r.Sorted, now),
                "SYNC" => Sync(now),
                _ => throw new V2StoreException(V2Error.Create(V2ErrorCodes.InvalidField, "unknown method " + r.Method, _v2.Index)),
            };
            return new ApplyResult(e, null);
        }
        catch (V2StoreException error)
        {
            return new ApplyResult(null, error);
        }
    }

    private V2Event ApplyV2Put(Request r, V2TtlOptions ttl, DateTimeOffset now)
    {
        if (r.HasPrevExist)
        {
            if (r.PrevExist)
            {
                return r.PrevIndex == 0 && r.PrevValue.Length == 0
                    ? _v2.Update(r.Path, r.Val, ttl, now)
                    : _v2.CompareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, ttl, now);
            }

            return _v2.Create(r.Path, r.Dir, r.Val, unique: false, ttl, now);
        }

        return r.PrevIndex > 0 || r.PrevValue.Length > 0
            ? _v2.CompareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, ttl, now)
            : _v2.Set(r.Path, r.Dir, r.Val, ttl, now);
    }

    private V2Event? Sync(DateTimeOffset now)
    {
        _v2.DeleteExpiredKeys(now);
        return null;
    }

    /// <summary>The leader's SYNC: expires v2 TTL keys at its clock, through raft.</summary>
    private void ProposeV2Sync()
    {
        if (Volatile.Read(ref _disposed) != 0 || !IsLeader || !_v2.HasTtlKeys)
        {
            return;
        }

        _ = ProposeV2SyncAsync();
    }

    private async Task ProposeV2SyncAsync()
    {
        try
        {
            var sync = new Request { Method = "SYNC", Time = ToUnixNanos(_time.GetUtcNow()), TtlSeconds = -1 };
            await ProposeAsync(new InternalRaftRequest { V2 = sync }, null, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EtcdException or OperationCanceledException)
        {
            _logger.LogDebug(e, "etcdserver: v2 SYNC proposal failed");
        }
    }

    private void StartV2Sync()
    {
        if (_options.EnableV2)
        {
            _v2SyncTimer = _time.CreateTimer(_ => ProposeV2Sync(), null, s_v2SyncInterval, s_v2SyncInterval);
        }
    }

    private void ThrowIfV2Disabled()
    {
        if (!_options.EnableV2)
        {
            throw new EtcdException(EtcdErrorCode.Unimplemented, "etcdserver: v2 API is disabled (--enable-v2=false)");
        }
    }

    private static long ToUnixNanos(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static DateTimeOffset FromUnixNanos(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);
}
