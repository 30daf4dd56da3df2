namespace Platform.Raft;

/// <summary>
/// A sliding window of consecutive log entries over an append-only array. Slices are handed out
/// as <see cref="ArraySegment{T}"/> views without copying, which is safe because a slot, once
/// written, is never written again: dropping a prefix only moves the start, and truncating the
/// tail followed by an append moves the live window to a fresh array. Views taken earlier (entries
/// in a Ready being persisted, in a message being sent) therefore stay valid forever.
/// </summary>
/// <remarks>Not thread-safe; owners synchronise.</remarks>
internal sealed class EntryWindow
{
    // 64 slots: one Ready's worth of small batched proposals before the first reallocation.
    private const int MinimumCapacity = 64;

    private Entry[] _items = [];
    private int _start;
    private int _count;

    // Slots [0, _written) of _items have been written and may be referenced by handed-out views.
    private int _written;

    public int Count => _count;

    public Entry this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"window holds {_count} entries");
            }

            return _items[_start + index];
        }
    }

    public Entry Last => this[_count - 1];

    /// <summary>A view of <paramref name="length"/> entries from <paramref name="start"/>; valid forever.</summary>
    public ArraySegment<Entry> Slice(int start, int length)
    {
        if (start < 0 || length < 0 || start + length > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + length}) out of window of {_count}");
        }

        return length == 0 ? ArraySegment<Entry>.Empty : new ArraySegment<Entry>(_items, _start + start, length);
    }

    /// <summary>Appends <paramref name="count"/> entries of <paramref name="source"/> from <paramref name="from"/>.</summary>
    public void Append(IReadOnlyList<Entry> source, int from, int count)
    {
        if (count == 0)
        {
            return;
        }

        EnsureAppendable(count);
        int end = _start + _count;
        for (int i = 0; i < count; i++)
        {
            _items[end + i] = source[from + i];
        }

        _count += count;
        _written = _start + _count;
    }

    public void Append(Entry entry)
    {
        EnsureAppendable(1);
        _items[_start + _count] = entry;
        _count++;
        _written = _start + _count;
    }

    /// <summary>Keeps only the first <paramref name="count"/> entries.</summary>
    public void Truncate(int count)
    {
        if ((uint)count > (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"window holds {_count} entries");
        }

        _count = count;
    }

    /// <summary>Forgets the first <paramref name="count"/> entries.</summary>
    public void DropPrefix(int count)
    {
        if ((uint)count > (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"window holds {_count} entries");
        }

        _start += count;
        _count -= count;
        if (_count == 0 && _start == _written)
        {
            // Nothing live and nothing written past the window: restart at the beginning of a
            // fresh array on the next append, letting the old one (and its entries) be collected
            // once no view references it.
            _items = [];
            _start = 0;
            _written = 0;
        }
    }

    public void Clear() => DropPrefix(_count);

    private void EnsureAppendable(int extra)
    {
        int end = _start + _count;
        if (end == _written && end + extra <= _items.Length)
        {
            return;
        }

        // Either the array is full, or the tail was truncated and its old slots may still be
        // referenced by views: move the live window to a new array. Doubling keeps appends
        // amortised O(1); only the live window is copied, never the dropped prefix.
        int capacity = Math.Max(MinimumCapacity, checked((_count + extra) * 2));
        var items = new Entry[capacity];
        Array.Copy(_items, _start, items, 0, _count);
        _items = items;
        _start = 0;
        _written = _count;
    }
}
