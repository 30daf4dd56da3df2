using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;
using Platform.Etcd.Storage.Mvcc;

using Platform.Etcd.Server.Metrics;

namespace Platform.Etcd.Server.Watch;

/// <summary>
/// etcd's watchable store: every watcher is either synced (fed from the store's commit
/// notifications, in revision order) or unsynced (caught up from history by a background loop,
/// then moved to synced). The hand-off: a watcher moves to synced only when its next revision is
/// above the last revision notified, both decided under the hub lock that notifications take, so
/// no revision falls between; a revision delivered twice is skipped by the per-watcher
/// <see cref="Watcher.NextRevision"/>. A synced watcher whose stream buffer is full becomes a
/// victim: it is moved back to unsynced at the revision it missed, so slow consumers never block
/// the apply path.
/// </summary>
internal sealed class WatchHub : IAsyncDisposable
{
    // Events read from history per catch-up step (etcd: 1,000 per unsynced batch).
    private const int CatchUpBatchEvents = 1000;

    // How often unsynced watchers are retried when nothing signals (etcd: every 100 ms).
    private static readonly TimeSpan s_syncInterval = TimeSpan.FromMilliseconds(100);

    private readonly EtcdServerOptions _options;
    private readonly EtcdServer _server;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly HashSet<Watcher> _synced = [];
    private readonly HashSet<Watcher> _unsynced = [];
    private readonly HashSet<WatchStream> _streams = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _syncLoop;
    private readonly ITimer _progressTimer;
    private IKvStore _kv;
    private IDisposable _subscription;
    private long _lastNotified;

    public WatchHub(IKvStore kv, EtcdServerOptions options, EtcdServer server, TimeProvider time, ILogger logger)
    {
        _kv = kv;
        _options = options;
        _server = server;
        _logger = logger;
        _lastNotified = kv.CurrentRevision;
        _subscription = kv.Subscribe(OnCommitted);
        _syncLoop = Task.Run(SyncLoopAsync);
        _progressTimer = time.CreateTimer(_ => SendProgressNotifications(), null, options.WatchProgressNotifyInterval, options.WatchProgressNotifyInterval);
    }

    internal EtcdServer Server => _server;

    internal EtcdServerOptions Options => _options;

    public WatchStream OpenStream(RequestContext context)
    {
        var stream = new WatchStream(this, context);
        lock (_lock)
        {
            _streams.Add(stream);
        }

        return stream;
    }

    /// <summary>Registers a watcher; <paramref name="startRevision"/> 0 = from the next revision.</summary>
    public void Add(Watcher watcher, long startRevision)
    {
        lock (_lock)
        {
            if (startRevision <= 0 || startRevision > _lastNotified)
            {
                watcher.NextRevision = Math.Max(startRevision, _lastNotified + 1);
                _synced.Add(watcher);
            }
            else
            {
                watcher.NextRevision = startRevision;
                _unsynced.Add(watcher);
                _signal.Release();
            }

            UpdateGauges();
        }
    }

    /// <summary>
    /// Loop thread, after a leader's snapshot replaced the backend (the old one is disposed, the
    /// new one at or beyond every revision the old one had): the hub follows the new store and
    /// every synced watcher becomes unsynced at its next revision, so the sync loop catches it up
    /// from the new backend's history, or cancels it as compacted (etcd's watchableStore.Restore).
    /// Streams stay open.
    /// </summary>
    public void ReplaceStore(IKvStore kv)
    {
        lock (_lock)
        {
            _subscription.Dispose();
            _kv = kv;
            _lastNotified = kv.CurrentRevision;
            _subscription = kv.Subscribe(OnCommitted);
            foreach (Watcher w in _synced)
            {
                _unsynced.Add(w);
            }

            _synced.Clear();
            _signal.Release();
        }
    }

    public void Remove(Watcher watcher)
    {
        lock (_lock)
        {
            _synced.Remove(watcher);
            _unsynced.Remove(watcher);
            UpdateGauges();
        }
    }

    public void CloseStream(WatchStream stream, IEnumerable<Watcher> watchers)
    {
        lock (_lock)
        {
            foreach (Watcher w in watchers)
            {
                _synced.Remove(w);
                _unsynced.Remove(w);
            }

            _streams.Remove(stream);
            UpdateGauges();
        }
    }

    /// <summary>
    /// A progress request: one response with watch id -1 whose revision every watcher of the
    /// stream has seen all events up to (queued under the hub lock, after those events).
    /// </summary>
    public void RequestProgress(WatchStream stream)
    {
        lock (_lock)
        {
            long revision = _lastNotified;
            foreach (Watcher w in stream.Watchers())
            {
                if (_unsynced.Contains(w))
                {
                    revision = Math.Min(revision, w.NextRevision - 1);
                }
            }

            stream.SendControl(new WatchResponse { Header = _server.NewHeader(Math.Max(1, revision)), WatchId = -1 });
        }
    }

    public async ValueTask DisposeAsync()
    {
        _subscription.Dispose();
        await _progressTimer.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _syncLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        WatchStream[] streams;
        lock (_lock)
        {
            streams = [.. _streams];
        }

        foreach (WatchStream s in streams)
        {
            s.Complete();
        }

        _stop.Dispose();
        _signal.Dispose();
    }

    /// <summary>The store's commit hook (apply thread): feeds synced watchers, demotes the ones that cannot keep up.</summary>
    private void OnCommitted(RevisionChanges changes)
    {
        lock (_lock)
        {
            _lastNotified = changes.Revision;
            List<Watcher>? victims = null;
            foreach (Watcher w in _synced)
            {
                if (w.NextRevision > changes.Revision)
                {
                    continue;
                }

                List<Event> events = w.Filter(changes.Events);
                if (events.Count > 0 && !w.Stream.TryDeliver(w, events, changes.Revision))
                {
                    (victims ??= []).Add(w);
                    continue;
                }

                w.NextRevision = changes.Revision + 1;
            }

            if (victims is not null)
            {
                foreach (Watcher w in victims)
                {
                    _synced.Remove(w);
                    _unsynced.Add(w);
                }

                UpdateGauges();
                _signal.Release();
            }
        }
    }

    private async Task SyncLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await _signal.WaitAsync(s_syncInterval, _stop.Token).ConfigureAwait(false);
            Watcher[] pending;
            lock (_lock)
            {
                pending = [.. _unsynced];
            }

            bool more = false;
            foreach (Watcher w in pending)
            {
                try
                {
                    more |= CatchUp(w);
                }
                catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (ObjectDisposedException) when (StoreReplaced(w))
                {
                    // Read from a backend a snapshot replaced: the next round reads the new one.
                    more = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.LogError(e, "watch: catching up watcher {WatchId} failed", w.Id);
                }
            }

            if (more)
            {
                _signal.Release();
            }
        }
    }

    /// <summary>One catch-up step for an unsynced watcher; true when it is still behind and could progress now.</summary>
    private bool CatchUp(Watcher w)
    {
        // The store of this step: a snapshot may swap it meanwhile (ReplaceStore), and a read of
        // the disposed one throws ObjectDisposedException: the step is then retried on the new one.
        IKvStore kv;
        lock (_lock)
        {
            kv = _kv;
        }

        long compacted = kv.CompactedRevision;
        if (w.NextRevision <= compacted)
        {
            CancelCompacted(w, compacted);
            return false;
        }

        if (w.NextRevision <= kv.CurrentRevision)
        {
            ChangesResult changes;
            try
            {
                changes = kv.Changes(w.NextRevision, CatchUpBatchEvents, w.PrevKv);
            }
            catch (MvccException e) when (e.Error == MvccError.Compacted)
            {
                CancelCompacted(w, kv.CompactedRevision);
                return false;
            }

            List<Event> events = w.Filter(changes.Events);
            if (events.Count > 0 && !w.Stream.TryDeliver(w, events, events[^1].Kv.ModRevision))
            {
                // The stream is still full; try again on the next round.
                return false;
            }

            lock (_lock)
            {
                w.NextRevision = Math.Max(w.NextRevision, changes.NextRevision);
            }
        }

        lock (_lock)
        {
            if (!_unsynced.Contains(w))
            {
                return false;
            }

            if (w.NextRevision > _lastNotified)
            {
                _unsynced.Remove(w);
                _synced.Add(w);
                UpdateGauges();
                return false;
            }

            return true;
        }
    }

    private bool StoreReplaced(Watcher w)
    {
        lock (_lock)
        {
            return _unsynced.Contains(w);
        }
    }

    private void CancelCompacted(Watcher w, long compacted)
    {
        Remove(w);
        w.Stream.CancelCompacted(w, compacted);
    }

    private void SendProgressNotifications()
    {
        lock (_lock)
        {
            foreach (Watcher w in _synced)
            {
                if (w.ProgressNotify && !w.SentSinceProgress)
                {
                    w.Stream.SendControl(new WatchResponse { Header = _server.NewHeader(Math.Max(1, _lastNotified)), WatchId = w.Id });
                }

                w.SentSinceProgress = false;
            }
        }
    }

    private void UpdateGauges() => ServerMetrics.Watchers.Set(_synced.Count + _unsynced.Count);
}
