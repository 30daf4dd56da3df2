using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Platform.Etcd.V2Store.Store;

/// <summary>
/// Watchers by the key they watch, plus the event history. The store calls in under its own
/// lock; watchers dispose from any thread, so the hub has a lock of its own (always taken after
/// the store's, never before).
/// </summary>
internal sealed class WatcherHub
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedList<Watcher>> _watchers = new(StringComparer.Ordinal);

    public WatcherHub(int historyCapacity)
    {
        History = new EventHistory(historyCapacity);
    }

    public EventHistory History { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _watchers.Values.Sum(l => l.Count);
            }
        }
    }

    public IV2Watcher Watch(string key, bool recursive, bool stream, ulong sinceIndex, ulong storeIndex)
    {
        lock (_lock)
        {
            V2Event? past = History.Scan(key, recursive, sinceIndex, storeIndex);
            var watcher = new Watcher(this, key, recursive, stream, sinceIndex, storeIndex);
            if (past is not null)
            {
                // As etcd: an event found in the history is the watcher's only event, even for a
                // stream (etcd then leaves the stream idle; here it ends).
                watcher.Deliver(past.WithEtcdIndex(storeIndex));
                watcher.Complete();
                return watcher;
            }

            if (!_watchers.TryGetValue(key, out LinkedList<Watcher>? list))
            {
                list = new LinkedList<Watcher>();
                _watchers.Add(key, list);
            }

            watcher.Node = list.AddLast(watcher);
            return watcher;
        }
    }

    /// <summary>Records an event without waking anyone (TTL refreshes).</summary>
    public void Add(V2Event e)
    {
        lock (_lock)
        {
            History.Add(e);
        }
    }

    /// <summary>Records an event and wakes the watchers of its key and of every ancestor.</summary>
    public void Notify(V2Event e)
    {
        lock (_lock)
        {
            History.Add(e);
            string key = e.Node.Key;
            NotifyWatchersLocked(e, "/", deleted: false);
            for (int slash = key.IndexOf('/', 1); ; slash = key.IndexOf('/', slash + 1))
            {
                if (key.Length > 1)
                {
                    NotifyWatchersLocked(e, slash < 0 ? key : key[..slash], deleted: false);
                }

                if (slash < 0)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Wakes the watchers of a node removed by <paramref name="e"/> (a descendant of its key, or the key).</summary>
    public void NotifyDeleted(V2Event e, string nodePath)
    {
        lock (_lock)
        {
            NotifyWatchersLocked(e, nodePath, deleted: true);
        }
    }

    public void Remove(Watcher watcher)
    {
        lock (_lock)
        {
            RemoveLocked(watcher);
        }
    }

    private void NotifyWatchersLocked(V2Event e, string nodePath, bool deleted)
    {
        if (!_watchers.TryGetValue(nodePath, out LinkedList<Watcher>? list))
        {
            return;
        }

        bool originalPath = e.Node.Key == nodePath;
        LinkedListNode<Watcher>? current = list.First;
        while (current is not null)
        {
            LinkedListNode<Watcher>? next = current.Next;
            Watcher watcher = current.Value;
            if ((originalPath || !IsHidden(nodePath, e.Node.Key)) && watcher.Matches(e, originalPath, deleted))
            {
                if (!watcher.Deliver(e))
                {
                    // The consumer is 100 events behind: drop the watcher (etcd does the same).
                    RemoveLocked(watcher);
                    watcher.Complete();
                }
                else if (!watcher.Stream)
                {
                    RemoveLocked(watcher);
                    watcher.Complete();
                }
            }

            current = next;
        }
    }

    private void RemoveLocked(Watcher watcher)
    {
        if (watcher.Node is { List: { } list } node)
        {
            list.Remove(node);
            if (list.Count == 0)
            {
                _watchers.Remove(watcher.Key);
            }
        }

        watcher.Node = null;
    }

    /// <summary>Whether <paramref name="keyPath"/> is hidden as seen from <paramref name="watchPath"/>: a '_' segment below it.</summary>
    private static bool IsHidden(string watchPath, string keyPath)
    {
        if (watchPath.Length > keyPath.Length)
        {
            return false;
        }

        string after = PathUtil.Clean("/" + keyPath[watchPath.Length..]);
        return after.Contains("/_", StringComparison.Ordinal);
    }
}

/// <summary>One watch: a bounded queue of events for one consumer.</summary>
internal sealed class Watcher : IV2Watcher
{
    /// <summary>etcd buffers 100 events per watcher before dropping it.</summary>
    private const int BufferedEvents = 100;

    private readonly WatcherHub _hub;
    private readonly Channel<V2Event> _events = Channel.CreateBounded<V2Event>(new BoundedChannelOptions(BufferedEvents)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleWriter = false,
        SingleReader = false,
    });

    public Watcher(WatcherHub hub, string key, bool recursive, bool stream, ulong sinceIndex, ulong startIndex)
    {
        _hub = hub;
        Key = key;
        Recursive = recursive;
        Stream = stream;
        SinceIndex = sinceIndex;
        StartIndex = startIndex;
    }

    public string Key { get; }

    public bool Recursive { get; }

    public bool Stream { get; }

    public ulong SinceIndex { get; }

    public ulong StartIndex { get; }

    /// <summary>This watcher's place in the hub's list; null once removed. Guarded by the hub's lock.</summary>
    public LinkedListNode<Watcher>? Node { get; set; }

    public bool Matches(V2Event e, bool originalPath, bool deleted) =>
        (Recursive || originalPath || deleted) && e.Index >= SinceIndex;

    /// <summary>Queues an event without blocking; false when the queue is full or completed.</summary>
    public bool Deliver(V2Event e) => _events.Writer.TryWrite(e);

    public void Complete() => _events.Writer.TryComplete();

    public async Task<V2Event> NextAsync(CancellationToken cancellationToken = default)
    {
        if (await _events.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && _events.Reader.TryRead(out V2Event? e))
        {
            return e;
        }

        throw new V2StoreException(V2Error.Create(V2ErrorCodes.WatcherCleared, "", StartIndex));
    }

    public async IAsyncEnumerable<V2Event> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (V2Event e in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return e;
        }
    }

    public void Dispose()
    {
        _hub.Remove(this);
        Complete();
    }
}
