using Google.Protobuf;

namespace Platform.Raft;

/// <summary>
/// The stable entries of a <see cref="MemoryStorage"/>, kept in a form the .NET garbage collector
/// neither traces nor copies: each entry's term, type and encoded size in a slot of a struct array
/// (no references), its data in large append-only byte chunks (large-object heap, never moved).
/// Reads return fresh <see cref="Entry"/> objects whose data are views of the chunks.
/// </summary>
/// <remarks>
/// <para>Why: a server keeps up to <c>--snapshot-count</c> (100,000 by default) entries here, and
/// every entry is appended while the requests that produced it are young. As ~400 bytes of objects
/// per entry (Entry, ByteString, byte array) each one was copied twice by the generational GC
/// (gen0 → gen1 → gen2) and reached through the old array holding them; that was half the length
/// of every gen0 pause under a steady write load. Here an append is a copy of the data bytes into
/// a chunk and a slot write; only what a caller reads becomes objects again, and those die young.</para>
/// <para>Chunk bytes are never rewritten: a truncated tail's bytes are abandoned, not reused, and
/// a chunk goes only when no live entry is in it (views handed out earlier keep it alive as long
/// as they need it). So every view stays valid forever, as <see cref="IRaftStorage.Entries"/>
/// requires. Not thread-safe; the owner synchronises.</para>
/// </remarks>
internal sealed class EntryArena
{
    // Large enough to be on the large-object heap (≥ 85,000 bytes) and to hold thousands of
    // typical entries; an entry larger than a chunk gets a chunk of its own size.
    internal const int ChunkBytes = 1 << 20;

    private const int MinimumSlots = 64;

    private Slot[] _slots = [];
    private int _start;
    private int _count;

    // _chunks[i] has id _firstChunkId + i; the last one is written to.
    private readonly List<byte[]> _chunks = [];
    private long _firstChunkId;
    private int _written;

    public int Count => _count;

    /// <summary>Bytes held in chunks (live entries and abandoned or not yet released ones).</summary>
    internal long ChunkBytesHeld
    {
        get
        {
            long bytes = 0;
            foreach (byte[] chunk in _chunks)
            {
                bytes += chunk.Length;
            }

            return bytes;
        }
    }

    public ulong Term(int position) => SlotAt(position).Term;

    /// <summary>The encoded size of the entry at <paramref name="position"/> (<c>Entry.CalculateSize()</c>).</summary>
    public int EncodedSize(int position) => SlotAt(position).EncodedSize;

    /// <summary>
    /// The entries at positions [<paramref name="position"/>, +<paramref name="length"/>) as new
    /// objects; entry i gets index <paramref name="firstIndex"/> + i.
    /// </summary>
    public Entry[] Read(int position, int length, ulong firstIndex)
    {
        if (position < 0 || length < 0 || position + length > _count)
        {
            throw new ArgumentOutOfRangeException(nameof(position), $"read [{position}, {position + length}) out of {_count} entries");
        }

        var entries = new Entry[length];
        for (int i = 0; i < length; i++)
        {
            ref readonly Slot slot = ref _slots[_start + position + i];
            ByteString data = slot.Length == 0
                ? ByteString.Empty
                : UnsafeByteOperations.UnsafeWrap(new ReadOnlyMemory<byte>(_chunks[(int)(slot.Chunk - _firstChunkId)], slot.Offset, slot.Length));
            entries[i] = new Entry { Term = slot.Term, Index = firstIndex + (ulong)i, Type = slot.Type, Data = data };
        }

        return entries;
    }

    /// <summary>Appends <paramref name="count"/> entries of <paramref name="source"/> from <paramref name="from"/> (copies their data).</summary>
    public void Append(IReadOnlyList<Entry> source, int from, int count)
    {
        EnsureSlots(count);
        for (int i = 0; i < count; i++)
        {
            Entry entry = source[from + i];
            ReadOnlySpan<byte> data = entry.Data.Span;
            var slot = new Slot { Term = entry.Term, Type = entry.Type, Length = data.Length, EncodedSize = entry.CalculateSize() };
            if (data.Length > 0)
            {
                byte[] chunk = ChunkFor(data.Length);
                data.CopyTo(chunk.AsSpan(_written));
                slot.Chunk = _firstChunkId + _chunks.Count - 1;
                slot.Offset = _written;
                _written += data.Length;
            }

            _slots[_start + _count] = slot;
            _count++;
        }
    }

    /// <summary>Keeps only the first <paramref name="count"/> entries (the rest's bytes are abandoned).</summary>
    public void Truncate(int count)
    {
        if ((uint)count > (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"arena holds {_count} entries");
        }

        _count = count;
        ReleaseChunks();
    }

    /// <summary>Drops the first <paramref name="count"/> entries, releasing chunks no live entry is in.</summary>
    public void DropPrefix(int count)
    {
        if ((uint)count > (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"arena holds {_count} entries");
        }

        _start += count;
        _count -= count;
        if (_count == 0)
        {
            _start = 0;
        }

        ReleaseChunks();
    }

    public void Clear() => DropPrefix(_count);

    private ref readonly Slot SlotAt(int position)
    {
        if ((uint)position >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"arena holds {_count} entries");
        }

        return ref _slots[_start + position];
    }

    // Chunks before the one holding the first live entry with data go; so do all but the last
    // (written) chunk when no live entry has data. The written chunk stays for the next appends.
    private void ReleaseChunks()
    {
        long keepFrom = _firstChunkId + _chunks.Count - 1;
        for (int i = 0; i < _count; i++)
        {
            ref readonly Slot slot = ref _slots[_start + i];
            if (slot.Length > 0)
            {
                keepFrom = slot.Chunk;
                break;
            }
        }

        int release = (int)(keepFrom - _firstChunkId);
        if (release > 0)
        {
            _chunks.RemoveRange(0, release);
            _firstChunkId += release;
        }
    }

    private byte[] ChunkFor(int length)
    {
        if (_chunks.Count > 0 && _chunks[^1].Length - _written >= length)
        {
            return _chunks[^1];
        }

        // A fresh chunk (the rest of the current one is abandoned). Uninitialized: every byte read
        // was written first.
        byte[] chunk = GC.AllocateUninitializedArray<byte>(Math.Max(ChunkBytes, length));
        _chunks.Add(chunk);
        _written = 0;
        return chunk;
    }

    private void EnsureSlots(int extra)
    {
        int end = _start + _count;
        if (end + extra <= _slots.Length)
        {
            return;
        }

        // Slots hold no references and are copied into the read entries, so they can move freely:
        // slide the live window to the front when that makes room, else grow.
        int needed = checked(_count + extra);
        Slot[] target = needed <= _slots.Length / 2 ? _slots : new Slot[Math.Max(MinimumSlots, checked(needed * 2))];
        Array.Copy(_slots, _start, target, 0, _count);
        _slots = target;
        _start = 0;
    }

    private struct Slot
    {
        public ulong Term;
        public long Chunk;
        public int Offset;
        public int Length;
        public int EncodedSize;
        public EntryType Type;
    }
}
