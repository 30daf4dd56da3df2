namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// The in-memory index, key → revisions, ordered by key bytes: a two-level B+tree (a sorted list
/// of leaves, each holding up to <see cref="LeafCapacity"/> keys back to back in one byte array
/// and a parallel array of <see cref="KeySlot"/> structs). Lookups and inserts are O(log n) plus
/// an O(<see cref="LeafCapacity"/>) shift inside one leaf; a range visit is O(log n + k).
/// Not thread-safe: the store guards it with a reader-writer lock held only for the index
/// operation itself, never across I/O.
/// </summary>
/// <remarks>
/// <para>
/// Why this shape: the index is most of the server's heap. The previous red-black tree of
/// <see cref="KeyIndex"/> objects cost 8 objects and ~400 bytes per key (tree node, key index,
/// key array, generation list and array, generation, revision list and array), 1M keys ~400 MB of
/// live heap and twice that in RSS. Most keys hold one live revision (written once, or compacted
/// down to their latest put): a slot keeps that inline (created, modified, version; 40 bytes)
/// next to the key bytes, ~60 bytes and no object per key. A key with more history (a second
/// put before a compaction, a tombstone) moves to a <see cref="KeyIndex"/> referenced from its
/// slot, and back inline when compaction reduces it to one revision again.
/// </para>
/// <para>
/// Range ends follow etcd: an empty end means the single key; the end "\0" means every key at
/// or after the start; otherwise the half-open range [key, end).
/// </para>
/// </remarks>
internal sealed class TreeIndex
{
    /// <summary>
    /// Keys per leaf at most: 128 keeps an insert's shift within a leaf to a few KB of memmove and
    /// the leaf list at 1M keys to ~8,000–16,000 references (one leaf split every 64–128 inserts
    /// shifts it, ~64–128 KB, a few hundred nanoseconds per insert amortized).
    /// </summary>
    internal const int LeafCapacity = 128;

    private readonly List<Leaf> _leaves = [];

    public int KeyCount { get; private set; }

    /// <summary>Leaves in use (for tests of the packing after compaction).</summary>
    internal int LeafCount => _leaves.Count;

    public void Put(ReadOnlySpan<byte> key, Revision revision)
    {
        if (TryFind(key, out Leaf? leaf, out int leafIndex, out int slot))
        {
            leaf.SlotAt(slot).Put(revision);
            return;
        }

        Insert(leafIndex, slot, key, KeySlot.Single(revision, revision, 1));
    }

    /// <returns>False when the key is not live (nothing to delete).</returns>
    public bool Tombstone(ReadOnlySpan<byte> key, Revision revision) =>
        TryFind(key, out Leaf? leaf, out _, out int slot) && leaf.SlotAt(slot).Tombstone(revision);

    /// <summary>
    /// Replays one key-table entry at reopen, in revision order: the first put of a key seen (its
    /// earlier history compacted away) is known by its created revision and version; later puts
    /// and tombstones apply as usual; a tombstone of a key not seen deletes nothing.
    /// </summary>
    public void Restore(ReadOnlySpan<byte> key, Revision revision, bool tombstone, long createdMain, long version)
    {
        if (TryFind(key, out Leaf? leaf, out int leafIndex, out int slot))
        {
            ref KeySlot s = ref leaf.SlotAt(slot);
            if (tombstone)
            {
                s.Tombstone(revision);
            }
            else
            {
                s.Put(revision);
            }

            return;
        }

        if (!tombstone)
        {
            Insert(leafIndex, slot, key, KeySlot.Single(new Revision(createdMain, 0), revision, version));
        }
    }

    public bool TryGet(ReadOnlySpan<byte> key, long atRev, out Revision modified, out Revision created, out long version)
    {
        if (TryFind(key, out Leaf? leaf, out _, out int slot))
        {
            return leaf.SlotAt(slot).TryGet(atRev, out modified, out created, out version);
        }

        modified = default;
        created = default;
        version = 0;
        return false;
    }

    /// <summary>
    /// The revisions of the keys live at <paramref name="atRev"/> in the range, in key order:
    /// at most <paramref name="limit"/> (0 = all) of them, and how many there are in total.
    /// </summary>
    public (List<Revision> Revisions, long Total) Revisions(ReadOnlySpan<byte> key, ReadOnlySpan<byte> end, long atRev, long limit, bool countOnly)
    {
        var revisions = new List<Revision>();
        long total = 0;
        var cursor = new Cursor(this, key, end);
        while (cursor.MoveNext())
        {
            if (cursor.Slot.TryGet(atRev, out Revision modified, out _, out _))
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

    /// <summary>The keys live at <paramref name="atRev"/> in the range, in key order (copies).</summary>
    public List<byte[]> LiveKeys(ReadOnlySpan<byte> key, ReadOnlySpan<byte> end, long atRev)
    {
        var keys = new List<byte[]>();
        var cursor = new Cursor(this, key, end);
        while (cursor.MoveNext())
        {
            if (cursor.Slot.TryGet(atRev, out _, out _, out _))
            {
                keys.Add(cursor.Key.ToArray());
            }
        }

        return keys;
    }

    /// <summary>
    /// Compacts every key at <paramref name="atRev"/>, dropping keys left empty (the leaves are
    /// then repacked full); returns the revisions to keep.
    /// </summary>
    public HashSet<Revision> Compact(long atRev)
    {
        var available = new HashSet<Revision>();
        int removed = 0;
        foreach (Leaf leaf in _leaves)
        {
            for (int i = 0; i < leaf.Count; i++)
            {
                if (!leaf.SlotAt(i).Compact(atRev, available))
                {
                    removed++;
                }
            }
        }

        if (removed > 0)
        {
            Repack();
        }

        return available;
    }

    /// <summary>The revisions a compaction at <paramref name="atRev"/> would keep.</summary>
    public HashSet<Revision> Keep(long atRev)
    {
        var available = new HashSet<Revision>();
        foreach (Leaf leaf in _leaves)
        {
            for (int i = 0; i < leaf.Count; i++)
            {
                leaf.SlotAt(i).Keep(atRev, available);
            }
        }

        return available;
    }

    /// <summary>
    /// Finds <paramref name="key"/>: true with its leaf and slot, else false with where it would be
    /// inserted (<paramref name="leafIndex"/> -1 when the index is empty).
    /// </summary>
    private bool TryFind(ReadOnlySpan<byte> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Leaf? leaf, out int leafIndex, out int slot)
    {
        if (_leaves.Count == 0)
        {
            leaf = null;
            leafIndex = -1;
            slot = 0;
            return false;
        }

        leafIndex = LeafFor(key);
        Leaf candidate = _leaves[leafIndex];
        slot = candidate.Search(key);
        if (slot >= 0)
        {
            leaf = candidate;
            return true;
        }

        slot = ~slot;
        leaf = null;
        return false;
    }

    /// <summary>The last leaf whose first key is at or below <paramref name="key"/>, or the first leaf.</summary>
    private int LeafFor(ReadOnlySpan<byte> key)
    {
        int lo = 0;
        int hi = _leaves.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_leaves[mid].KeyAt(0).SequenceCompareTo(key) <= 0)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    private void Insert(int leafIndex, int slot, ReadOnlySpan<byte> key, KeySlot value)
    {
        KeyCount++;
        if (leafIndex < 0)
        {
            var first = new Leaf();
            first.Insert(0, key, value);
            _leaves.Add(first);
            return;
        }

        Leaf leaf = _leaves[leafIndex];
        if (leaf.Count < LeafCapacity)
        {
            leaf.Insert(slot, key, value);
            return;
        }

        bool last = leafIndex == _leaves.Count - 1;
        if (slot == leaf.Count && last)
        {
            // Appending past the last key (keys loaded in order): start a new leaf, leave this one full.
            var next = new Leaf();
            next.Insert(0, key, value);
            _leaves.Add(next);
            return;
        }

        // Split in half; in the last leaf split at the insert point when that is further right,
        // so nearly ordered loads (concurrent clients writing increasing keys) keep leaves full.
        int splitAt = last ? Math.Max(leaf.Count / 2, slot) : leaf.Count / 2;
        Leaf right = leaf.SplitAt(splitAt);
        _leaves.Insert(leafIndex + 1, right);
        if (slot <= splitAt)
        {
            leaf.Insert(slot, key, value);
        }
        else
        {
            right.Insert(slot - splitAt, key, value);
        }
    }

    /// <summary>Drops the empty slots and refills the leaves in order (after a compaction removed keys).</summary>
    private void Repack()
    {
        var packed = new List<Leaf>();
        Leaf? current = null;
        int count = 0;
        foreach (Leaf leaf in _leaves)
        {
            for (int i = 0; i < leaf.Count; i++)
            {
                ref KeySlot s = ref leaf.SlotAt(i);
                if (s.IsEmpty)
                {
                    continue;
                }

                if (current is null || current.Count == LeafCapacity)
                {
                    current = new Leaf();
                    packed.Add(current);
                }

                current.Insert(current.Count, leaf.KeyAt(i), s);
                count++;
            }
        }

        _leaves.Clear();
        _leaves.AddRange(packed);
        _leaves.TrimExcess();
        KeyCount = count;
    }

    /// <summary>Visits the keys of a range in order (see the class remarks for range ends).</summary>
    private ref struct Cursor
    {
        private readonly List<Leaf> _leaves;
        private readonly ReadOnlySpan<byte> _end;
        private readonly bool _single;
        private readonly bool _toInfinity;
        private int _leafIndex;
        private int _slot;
        private bool _started;

        public Cursor(TreeIndex tree, ReadOnlySpan<byte> key, ReadOnlySpan<byte> end)
        {
            _leaves = tree._leaves;
            _end = end;
            _single = end.IsEmpty;
            _toInfinity = end.Length == 1 && end[0] == 0;
            bool found = tree.TryFind(key, out _, out _leafIndex, out _slot);
            if (_leafIndex < 0 || (_single && !found) || (!_single && !_toInfinity && key.SequenceCompareTo(end) >= 0))
            {
                _leafIndex = _leaves.Count;
            }

            _slot--;
        }

        public readonly ref KeySlot Slot => ref _leaves[_leafIndex].SlotAt(_slot);

        public readonly ReadOnlySpan<byte> Key => _leaves[_leafIndex].KeyAt(_slot);

        public bool MoveNext()
        {
            if (_single && _started)
            {
                return false;
            }

            _started = true;
            while (_leafIndex < _leaves.Count)
            {
                Leaf leaf = _leaves[_leafIndex];
                if (++_slot < leaf.Count)
                {
                    return _single || _toInfinity || leaf.KeyAt(_slot).SequenceCompareTo(_end) < 0;
                }

                _leafIndex++;
                _slot = -1;
            }

            return false;
        }
    }

    /// <summary>
    /// Up to <see cref="LeafCapacity"/> keys in order: their bytes back to back in one array
    /// (slot i's key ends at <see cref="KeySlot.KeyEnd"/>, starts where slot i-1's ends) and their
    /// slots in a parallel array. Never empty while in the tree.
    /// </summary>
    private sealed class Leaf
    {
        private byte[] _keys = [];
        private KeySlot[] _slots = [];

        public int Count { get; private set; }

        private int KeyBytes => Count == 0 ? 0 : _slots[Count - 1].KeyEnd;

        public ReadOnlySpan<byte> KeyAt(int i)
        {
            int start = i == 0 ? 0 : _slots[i - 1].KeyEnd;
            return _keys.AsSpan(start, _slots[i].KeyEnd - start);
        }

        public ref KeySlot SlotAt(int i) => ref _slots[i];

        /// <returns>The slot of <paramref name="key"/>, else the bitwise complement of where it would go.</returns>
        public int Search(ReadOnlySpan<byte> key)
        {
            int lo = 0;
            int hi = Count - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                int c = KeyAt(mid).SequenceCompareTo(key);
                if (c == 0)
                {
                    return mid;
                }

                if (c < 0)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return ~lo;
        }

        public void Insert(int i, ReadOnlySpan<byte> key, KeySlot value)
        {
            int used = KeyBytes;
            int start = i == 0 ? 0 : _slots[i - 1].KeyEnd;
            if (used + key.Length > _keys.Length)
            {
                // Grow by half (not double): leaves live long, their slack is resident memory.
                Array.Resize(ref _keys, Math.Max(used + key.Length, Math.Max(64, _keys.Length + (_keys.Length / 2))));
            }

            _keys.AsSpan(start, used - start).CopyTo(_keys.AsSpan(start + key.Length));
            key.CopyTo(_keys.AsSpan(start));

            if (Count == _slots.Length)
            {
                Array.Resize(ref _slots, Math.Min(LeafCapacity, Math.Max(8, _slots.Length * 2)));
            }

            Array.Copy(_slots, i, _slots, i + 1, Count - i);
            value.KeyEnd = start + key.Length;
            _slots[i] = value;
            Count++;
            for (int j = i + 1; j < Count; j++)
            {
                _slots[j].KeyEnd += key.Length;
            }
        }

        /// <summary>Moves the slots from <paramref name="index"/> on (at least one) into a new leaf.</summary>
        public Leaf SplitAt(int index)
        {
            var right = new Leaf
            {
                _keys = new byte[KeyBytes - _slots[index - 1].KeyEnd],
                _slots = new KeySlot[LeafCapacity],
            };
            for (int j = index; j < Count; j++)
            {
                right.Insert(right.Count, KeyAt(j), _slots[j]);
            }

            Array.Clear(_slots, index, Count - index);
            Count = index;
            return right;
        }
    }

    /// <summary>
    /// One key's revisions (40 bytes): inline while the key is one live generation with a single
    /// revision (no history object), else its <see cref="KeyIndex"/>. Sub revisions are stored as
    /// 32 bits: they count the changes of one transaction (bounded by --max-txn-ops). Inline, the
    /// created revision keeps its main revision only (sub 0), as the key table does
    /// (KeyValue.create_revision) and so as a reopen restores it: nothing reads its sub.
    /// </summary>
    private struct KeySlot
    {
        public int KeyEnd;
        private int _modifiedSub;
        private long _createdMain;
        private long _modifiedMain;
        private long _version;
        private KeyIndex? _history;

        /// <summary>Only after <see cref="Compact"/> returned false: the key is to be dropped.</summary>
        public readonly bool IsEmpty => _history is not null && _history.IsEmpty;

        private readonly Revision Created => new(_createdMain, 0);

        private readonly Revision Modified => new(_modifiedMain, _modifiedSub);

        public static KeySlot Single(Revision created, Revision modified, long version)
        {
            var slot = default(KeySlot);
            slot.SetInline(created, modified, version);
            return slot;
        }

        public void Put(Revision revision)
        {
            if (_history is null && revision <= Modified)
            {
                throw new InvalidOperationException($"mvcc: put at {revision} is not after the key's last revision {Modified}");
            }

            Spill().Put(revision);
        }

        public bool Tombstone(Revision revision) => Spill().Tombstone(revision);

        public readonly bool TryGet(long atRev, out Revision modified, out Revision created, out long version)
        {
            if (_history is not null)
            {
                return _history.TryGet(atRev, out modified, out created, out version);
            }

            if (_modifiedMain > atRev)
            {
                modified = default;
                created = default;
                version = 0;
                return false;
            }

            modified = Modified;
            created = Created;
            version = _version;
            return true;
        }

        /// <returns>False when nothing is left of the key.</returns>
        public bool Compact(long atRev, HashSet<Revision> available)
        {
            if (_history is null)
            {
                if (_modifiedMain <= atRev)
                {
                    available.Add(Modified);
                }

                return true;
            }

            _history.Compact(atRev, available);
            if (_history.IsEmpty)
            {
                return false;
            }

            if (_history.IsSingleRevision(out Revision created, out Revision modified, out long version))
            {
                SetInline(created, modified, version);
            }

            return true;
        }

        public readonly void Keep(long atRev, HashSet<Revision> available)
        {
            if (_history is not null)
            {
                _history.Keep(atRev, available);
            }
            else if (_modifiedMain <= atRev)
            {
                available.Add(Modified);
            }
        }

        private KeyIndex Spill()
        {
            if (_history is null)
            {
                var history = new KeyIndex();
                history.Restore(Created, Modified, _version);
                _history = history;
            }

            return _history;
        }

        private void SetInline(Revision created, Revision modified, long version)
        {
            _createdMain = created.Main;
            _modifiedMain = modified.Main;
            _modifiedSub = checked((int)modified.Sub);
            _version = version;
            _history = null;
        }
    }
}
