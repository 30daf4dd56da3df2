namespace Platform.Etcd.V2Store.Store;

/// <summary>
/// The last <see cref="Capacity"/> events in a ring, for watchers that ask for a past index.
/// Guarded by the watcher hub's lock.
/// </summary>
internal sealed class EventHistory
{
    /// <summary>etcd keeps 1000 events; older indexes answer 401.</summary>
    public const int DefaultCapacity = 1000;

    public EventHistory(int capacity)
    {
        Events = new V2Event?[capacity];
    }

    public V2Event?[] Events { get; private set; }

    public int Capacity => Events.Length;

    public int Size { get; private set; }

    public int Front { get; private set; }

    public int Back { get; private set; }

    /// <summary>Index of the oldest event kept (0 while empty).</summary>
    public ulong StartIndex { get; private set; }

    /// <summary>Index of the newest event kept (0 while empty).</summary>
    public ulong LastIndex { get; private set; }

    public void Add(V2Event e)
    {
        Events[Back] = e;
        Back = (Back + 1) % Capacity;
        if (Size == Capacity)
        {
            Front = (Front + 1) % Capacity;
        }
        else
        {
            Size++;
        }

        LastIndex = e.Index;
        StartIndex = Events[Front]!.Index;
    }

    /// <summary>
    /// The first event at or after <paramref name="index"/> that a watcher on
    /// <paramref name="key"/> would have seen, or null when none is recorded yet.
    /// </summary>
    /// <exception cref="V2StoreException">401 when <paramref name="index"/> is older than the history.</exception>
    public V2Event? Scan(string key, bool recursive, ulong index, ulong storeIndex)
    {
        if (index < StartIndex)
        {
            throw new V2StoreException(V2Error.Create(
                V2ErrorCodes.EventIndexCleared, $"the requested history has been cleared [{StartIndex}/{index}]", storeIndex));
        }

        if (index > LastIndex)
        {
            return null;
        }

        string prefix = key.EndsWith('/') ? key : key + "/";
        int i = (int)((Front + (long)(index - StartIndex)) % Capacity);
        while (true)
        {
            V2Event e = Events[i]!;
            if (!e.Refresh)
            {
                bool matches = e.Node.Key == key || (recursive && e.Node.Key.StartsWith(prefix, StringComparison.Ordinal));
                // A deleted or expired directory takes everything under it along. etcd tests a
                // plain string prefix here, so deleting /foo also matches a watch on /foobar.
                if ((e.Action is V2Actions.Delete or V2Actions.Expire) && e.PrevNode is { Dir: true } prev)
                {
                    matches |= key.StartsWith(prev.Key, StringComparison.Ordinal);
                }

                if (matches)
                {
                    return e;
                }
            }

            i = (i + 1) % Capacity;
            if (i == Back)
            {
                return null;
            }
        }
    }

    /// <summary>Replaces the contents (snapshot recovery).</summary>
    public void Restore(V2Event?[] events, int size, int front, int back, ulong startIndex, ulong lastIndex)
    {
        Events = events;
        Size = size;
        Front = front;
        Back = back;
        StartIndex = startIndex;
        LastIndex = lastIndex;
    }
}
