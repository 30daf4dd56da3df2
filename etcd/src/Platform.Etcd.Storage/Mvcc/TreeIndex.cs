namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// The in-memory index, key → <see cref="KeyIndex"/>, ordered by key bytes (a red-black tree:
/// <see cref="SortedSet{T}"/>; lookups and inserts O(log n), a range visit O(log n + k)).
/// Not thread-safe: the store guards it with a reader-writer lock held only for the index
/// operation itself, never across I/O.
/// </summary>
/// <remarks>
/// Range ends follow etcd: an empty end means the single key; the end "\0" means every key at
/// or after the start; otherwise the half-open range [key, end).
/// </remarks>
internal sealed class TreeIndex
{
    private static readonly KeyIndex s_infinity = new(null!);
    private readonly SortedSet<KeyIndex> _tree = new(KeyComparer.Instance);

    public int KeyCount => _tree.Count;

    public void Put(byte[] key, Revision revision)
    {
        if (_tree.TryGetValue(new KeyIndex(key), out KeyIndex? ki))
        {
            ki.Put(revision);
            return;
        }

        ki = new KeyIndex(key);
        ki.Put(revision);
        _tree.Add(ki);
    }

    public bool Tombstone(ReadOnlySpan<byte> key, Revision revision) =>
        _tree.TryGetValue(new KeyIndex(key.ToArray()), out KeyIndex? ki) && ki.Tombstone(revision);

    public KeyIndex? Find(ReadOnlySpan<byte> key) =>
        _tree.TryGetValue(new KeyIndex(key.ToArray()), out KeyIndex? ki) ? ki : null;

    /// <summary>Adds a restored key (see <see cref="KeyIndex.Restore"/>).</summary>
    public void Insert(KeyIndex ki) => _tree.Add(ki);

    public bool TryGet(ReadOnlySpan<byte> key, long atRev, out Revision modified, out Revision created, out long version)
    {
        KeyIndex? ki = Find(key);
        if (ki is null)
        {
            modified = default;
            created = default;
            version = 0;
            return false;
        }

        return ki.TryGet(atRev, out modified, out created, out version);
    }

    /// <summary>
    /// The revisions of the keys live at <paramref name="atRev"/> in the range, in key order:
    /// at most <paramref name="limit"/> (0 = all) of them, and how many there are in total.
    /// </summary>
    public (List<Revision> Revisions, long Total) Revisions(ReadOnlySpan<byte> key, ReadOnlySpan<byte> end, long atRev, long limit, bool countOnly)
    {
        var revisions = new List<Revision>();
        long total = 0;
        foreach (KeyIndex ki in Visit(key, end))
        {
            if (ki.TryGet(atRev, out Revision modified, out _, out _))
            {
                total++;
                if (!countOnly && (limit <= 0 || revisions.Count < limit))
                {
                    revisions.Add(modified);
                }
            }
        }

        return (revisions, total);
    }

    /// <summary>The keys live at <paramref name="atRev"/> in the range, in key order.</summary>
    public List<byte[]> LiveKeys(ReadOnlySpan<byte> key, ReadOnlySpan<byte> end, long atRev)
    {
        var keys = new List<byte[]>();
        foreach (KeyIndex ki in Visit(key, end))
        {
            if (ki.TryGet(atRev, out _, out _, out _))
            {
                keys.Add(ki.Key);
            }
        }

        return keys;
    }

    /// <summary>Compacts every key at <paramref name="atRev"/>, dropping keys left empty; returns the revisions to keep.</summary>
    public HashSet<Revision> Compact(long atRev)
    {
        var available = new HashSet<Revision>();
        var empty = new List<KeyIndex>();
        foreach (KeyIndex ki in _tree)
        {
            ki.Compact(atRev, available);
            if (ki.IsEmpty)
            {
                empty.Add(ki);
            }
        }

        foreach (KeyIndex ki in empty)
        {
            _tree.Remove(ki);
        }

        return available;
    }

    /// <summary>The revisions a compaction at <paramref name="atRev"/> would keep.</summary>
    public HashSet<Revision> Keep(long atRev)
    {
        var available = new HashSet<Revision>();
        foreach (KeyIndex ki in _tree)
        {
            ki.Keep(atRev, available);
        }

        return available;
    }

    private IEnumerable<KeyIndex> Visit(ReadOnlySpan<byte> key, ReadOnlySpan<byte> end)
    {
        if (end.IsEmpty)
        {
            KeyIndex? ki = Find(key);
            return ki is null ? [] : [ki];
        }

        bool toInfinity = end.Length == 1 && end[0] == 0;
        if (!toInfinity && key.SequenceCompareTo(end) >= 0)
        {
            return [];
        }

        byte[] endKey = end.ToArray();
        SortedSet<KeyIndex> view = _tree.GetViewBetween(new KeyIndex(key.ToArray()), toInfinity ? s_infinity : new KeyIndex(endKey));
        return toInfinity ? view : view.Where(ki => !ki.Key.AsSpan().SequenceEqual(endKey));
    }

    /// <summary>Orders by key bytes; the null key (a probe only) sorts after every key.</summary>
    private sealed class KeyComparer : IComparer<KeyIndex>
    {
        public static readonly KeyComparer Instance = new();

        public int Compare(KeyIndex? x, KeyIndex? y)
        {
            byte[]? a = x!.Key;
            byte[]? b = y!.Key;
            if (a is null || b is null)
            {
                return (a is null ? 1 : 0) - (b is null ? 1 : 0);
            }

            return a.AsSpan().SequenceCompareTo(b);
        }
    }
}
