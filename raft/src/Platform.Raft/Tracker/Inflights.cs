namespace Platform.Raft.Tracker;

/// <summary>
/// The sliding window of append messages sent to one follower and not yet acknowledged: for each
/// message, the index of its last entry and its payload size. Limits how much the leader streams
/// to a follower in <see cref="ProgressState.Replicate"/> by count and by bytes.
/// </summary>
/// <remarks>
/// A ring buffer that starts empty and doubles up to <c>capacity</c> slots on demand, so a
/// tracker configured for, say, 256 inflight messages costs nothing for idle followers, and
/// <see cref="Add"/> never allocates once the buffer has grown.
/// </remarks>
internal sealed class Inflights
{
    private readonly int _capacity;
    private readonly ulong _maxBytes;
    private Slot[] _buffer;
    private int _start;
    private int _count;
    private ulong _bytes;

    /// <param name="capacity">The most messages in flight; at least 1.</param>
    /// <param name="maxBytes">The most payload bytes in flight; 0 for no limit.</param>
    public Inflights(int capacity, ulong maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _maxBytes = maxBytes;
        _buffer = [];
    }

    private Inflights(Inflights other)
    {
        _capacity = other._capacity;
        _maxBytes = other._maxBytes;
        _buffer = (Slot[])other._buffer.Clone();
        _start = other._start;
        _count = other._count;
        _bytes = other._bytes;
    }

    /// <summary>The most messages in flight.</summary>
    public int Capacity => _capacity;

    /// <summary>The most payload bytes in flight; 0 means unlimited.</summary>
    public ulong MaxBytes => _maxBytes;

    /// <summary>Messages in flight.</summary>
    public int Count => _count;

    /// <summary>Payload bytes in flight.</summary>
    public ulong Bytes => _bytes;

    /// <summary>
    /// No more messages may be sent: the count reached the capacity, or the bytes in flight reached
    /// the byte limit. A single message larger than the byte limit is still accepted when the
    /// window is empty, so a large entry cannot stall replication forever.
    /// </summary>
    public bool Full => _count == _capacity || (_maxBytes > 0 && _bytes >= _maxBytes);

    /// <summary>The number of slots allocated so far (grows lazily up to the capacity).</summary>
    internal int AllocatedSlots => _buffer.Length;

    /// <summary>
    /// Records a message whose last entry is <paramref name="index"/>. Indexes must be added in
    /// increasing order.
    /// </summary>
    /// <exception cref="InvalidOperationException">The window is <see cref="Full"/>.</exception>
    public void Add(ulong index, ulong bytes)
    {
        if (Full)
        {
            throw new InvalidOperationException("cannot add into a full inflights");
        }

        int next = _start + _count;
        if (next >= _capacity)
        {
            next -= _capacity;
        }

        // Slots are addressed modulo the capacity, and the occupied slots always lie below the
        // allocated length, so growing by copying in place keeps every position valid.
        if (next >= _buffer.Length)
        {
            Grow();
        }

        _buffer[next] = new Slot(index, bytes);
        _count++;
        _bytes += bytes;
    }

    /// <summary>Frees every message whose last index is ≤ <paramref name="index"/> (an ack up to it).</summary>
    public void FreeLE(ulong index)
    {
        if (_count == 0 || index < _buffer[_start].Index)
        {
            return;
        }

        int slot = _start;
        int freed = 0;
        ulong freedBytes = 0;
        while (freed < _count && _buffer[slot].Index <= index)
        {
            freedBytes += _buffer[slot].Bytes;
            freed++;
            slot++;
            if (slot >= _capacity)
            {
                slot -= _capacity;
            }
        }

        _count -= freed;
        _bytes -= freedBytes;
        // An empty window restarts at slot 0, which keeps a small buffer from needing to grow
        // only because the start wandered to its end.
        _start = _count == 0 ? 0 : slot;
    }

    /// <summary>Forgets every message in flight; keeps the allocated buffer.</summary>
    public void Reset()
    {
        _start = 0;
        _count = 0;
        _bytes = 0;
    }

    /// <summary>A deep copy.</summary>
    public Inflights Clone() => new(this);

    private void Grow()
    {
        int size = _buffer.Length == 0 ? 1 : Math.Min(_buffer.Length * 2, _capacity);
        Array.Resize(ref _buffer, size);
    }

    private readonly record struct Slot(ulong Index, ulong Bytes);
}
