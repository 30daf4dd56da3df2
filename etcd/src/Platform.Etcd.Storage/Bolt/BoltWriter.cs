using System.Buffers.Binary;
using Platform.Etcd.Storage.Internal;

namespace Platform.Etcd.Storage.Bolt;

/// <summary>
/// Writes a fresh bbolt file in one pass (a bulk load): top-level buckets in name order, each
/// from its entries in key order. Pages are filled up to the page size (an element larger than a
/// page gets overflow pages), built bottom-up (leaves, then branch levels); a small bucket is
/// stored inline in its parent as bbolt does. No page is free, so the freelist is empty.
/// </summary>
/// <remarks>
/// Layout: pages 0 and 1 meta (txid 0 and 1, identical otherwise), page 2 the freelist, then the
/// buckets' pages in the order written, then the root bucket's. The file is fsynced on
/// <see cref="Complete"/> (unless told it is temporary); a writer disposed without it leaves a file no reader accepts (its
/// meta pages are zeros).
/// </remarks>
internal sealed class BoltWriter : IDisposable
{
    private const ulong FreelistPgid = 2;
    private readonly FileStream _file;
    private readonly List<(byte[] Name, byte[] Value)> _root = [];
    private ulong _nextPgid = 3;
    private bool _completed;

    private BoltWriter(FileStream file) => _file = file;

    /// <summary>Creates (or truncates) <paramref name="path"/>.</summary>
    public static BoltWriter Create(string path)
    {
        var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        file.Write(new byte[3 * BoltFormat.PageSize]);
        return new BoltWriter(file);
    }

    /// <summary>
    /// Adds the top-level bucket <paramref name="name"/> with <paramref name="entries"/> (keys
    /// strictly ascending, bytewise; none empty). Buckets must come in ascending name order.
    /// </summary>
    public void AddBucket(ReadOnlySpan<byte> name, IEnumerable<KeyValuePair<byte[], byte[]>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ObjectDisposedException.ThrowIf(_completed, this);
        if (name.IsEmpty)
        {
            throw new ArgumentException("a bucket name must not be empty", nameof(name));
        }

        if (_root.Count > 0 && name.SequenceCompareTo(_root[^1].Name) <= 0)
        {
            throw new ArgumentException($"bucket \"{System.Text.Encoding.UTF8.GetString(name)}\" is not after \"{System.Text.Encoding.UTF8.GetString(_root[^1].Name)}\"", nameof(name));
        }

        byte[] value = WriteTree(entries.Select(e => new Element(e.Key, e.Value, 0)), allowInline: true);
        _root.Add((name.ToArray(), value));
    }

    /// <summary>Writes the root bucket, the freelist and the meta pages, and fsyncs unless <paramref name="durable"/> is false (a temporary file).</summary>
    public void Complete(bool durable = true)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        byte[] rootHeader = WriteTree(_root.Select(b => new Element(b.Name, b.Value, BoltFormat.BucketLeafFlag)), allowInline: false);
        ulong rootPgid = BinaryPrimitives.ReadUInt64LittleEndian(rootHeader);

        byte[] page = new byte[BoltFormat.PageSize];
        BoltFormat.WritePageHeader(page, FreelistPgid, BoltFormat.FreelistPage, 0, 0);
        _file.Position = (long)FreelistPgid * BoltFormat.PageSize;
        _file.Write(page);

        for (ulong txid = 0; txid < 2; txid++)
        {
            Array.Clear(page);
            BoltFormat.WritePageHeader(page, txid, BoltFormat.MetaPage, 0, 0);
            Span<byte> meta = page.AsSpan(BoltFormat.PageHeaderSize, BoltFormat.MetaSize);
            BinaryPrimitives.WriteUInt32LittleEndian(meta, BoltFormat.Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(meta[4..], BoltFormat.Version);
            BinaryPrimitives.WriteUInt32LittleEndian(meta[8..], BoltFormat.PageSize);
            BinaryPrimitives.WriteUInt32LittleEndian(meta[12..], 0);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[16..], rootPgid);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[24..], 0);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[32..], FreelistPgid);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[40..], _nextPgid);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[48..], txid);
            BinaryPrimitives.WriteUInt64LittleEndian(meta[56..], BoltFormat.Fnv1a64(meta[..BoltFormat.MetaChecksumOffset]));
            _file.Position = (long)txid * BoltFormat.PageSize;
            _file.Write(page);
        }

        _file.Flush();
        if (durable)
        {
            PosixFile.DataSync(_file.SafeFileHandle);
        }

        _completed = true;
    }

    public void Dispose() => _file.Dispose();

    /// <summary>
    /// Writes the pages of one bucket's tree; returns its value in the parent: a bucket header
    /// (root pgid, sequence 0), followed by the inline leaf when the bucket is small.
    /// </summary>
    private byte[] WriteTree(IEnumerable<Element> elements, bool allowInline)
    {
        var children = new List<(byte[] FirstKey, ulong Pgid)>();
        var current = new List<Element>();
        int currentSize = BoltFormat.PageHeaderSize;
        byte[]? previous = null;
        foreach (Element e in elements)
        {
            if (e.Key.Length == 0 || e.Key.Length > BoltFormat.MaxKeySize)
            {
                throw new ArgumentException($"bolt keys are 1 to {BoltFormat.MaxKeySize} bytes, got {e.Key.Length}");
            }

            if (previous is not null && e.Key.AsSpan().SequenceCompareTo(previous) <= 0)
            {
                throw new ArgumentException($"bolt keys must be strictly ascending: {Convert.ToHexString(e.Key)} after {Convert.ToHexString(previous)}");
            }

            previous = e.Key;
            int size = BoltFormat.ElementSize + e.Key.Length + e.Value.Length;
            if (current.Count > 0 && currentSize + size > BoltFormat.PageSize)
            {
                children.Add((current[0].Key, WriteLeaf(current)));
                current.Clear();
                currentSize = BoltFormat.PageHeaderSize;
            }

            current.Add(e);
            currentSize += size;
        }

        byte[] header = new byte[BoltFormat.BucketHeaderSize];
        if (children.Count == 0 && allowInline && currentSize <= BoltFormat.MaxInlineBucketSize)
        {
            // Inline: header with root 0, then the leaf as a page of its own (id 0).
            byte[] inline = new byte[BoltFormat.BucketHeaderSize + currentSize];
            FillLeaf(inline.AsSpan(BoltFormat.BucketHeaderSize), 0, current, overflow: 0);
            return inline;
        }

        if (current.Count > 0 || children.Count == 0)
        {
            children.Add((current.Count > 0 ? current[0].Key : [], WriteLeaf(current)));
        }

        // Branch levels until one page is the root.
        while (children.Count > 1)
        {
            var parents = new List<(byte[] FirstKey, ulong Pgid)>();
            var level = new List<(byte[] FirstKey, ulong Pgid)>();
            int levelSize = BoltFormat.PageHeaderSize;
            foreach ((byte[] FirstKey, ulong Pgid) child in children)
            {
                int size = BoltFormat.ElementSize + child.FirstKey.Length;
                if (level.Count > 0 && levelSize + size > BoltFormat.PageSize)
                {
                    parents.Add((level[0].FirstKey, WriteBranch(level)));
                    level.Clear();
                    levelSize = BoltFormat.PageHeaderSize;
                }

                level.Add(child);
                levelSize += size;
            }

            parents.Add((level[0].FirstKey, WriteBranch(level)));
            children = parents;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(header, children[0].Pgid);
        return header;
    }

    private ulong WriteLeaf(List<Element> elements)
    {
        int size = BoltFormat.PageHeaderSize;
        foreach (Element e in elements)
        {
            size += BoltFormat.ElementSize + e.Key.Length + e.Value.Length;
        }

        int pages = (size + BoltFormat.PageSize - 1) / BoltFormat.PageSize;
        byte[] buffer = new byte[pages * BoltFormat.PageSize];
        ulong pgid = _nextPgid;
        FillLeaf(buffer, pgid, elements, pages - 1);
        return Append(buffer, pages);
    }

    private static void FillLeaf(Span<byte> page, ulong pgid, List<Element> elements, int overflow)
    {
        BoltFormat.WritePageHeader(page, pgid, BoltFormat.LeafPage, elements.Count, overflow);
        int data = BoltFormat.PageHeaderSize + (elements.Count * BoltFormat.ElementSize);
        for (int i = 0; i < elements.Count; i++)
        {
            Element e = elements[i];
            int at = BoltFormat.PageHeaderSize + (i * BoltFormat.ElementSize);
            BinaryPrimitives.WriteUInt32LittleEndian(page[at..], e.Flags);
            BinaryPrimitives.WriteUInt32LittleEndian(page[(at + 4)..], (uint)(data - at));
            BinaryPrimitives.WriteUInt32LittleEndian(page[(at + 8)..], (uint)e.Key.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(page[(at + 12)..], (uint)e.Value.Length);
            e.Key.CopyTo(page[data..]);
            data += e.Key.Length;
            e.Value.CopyTo(page[data..]);
            data += e.Value.Length;
        }
    }

    private ulong WriteBranch(List<(byte[] FirstKey, ulong Pgid)> children)
    {
        int size = BoltFormat.PageHeaderSize;
        foreach ((byte[] key, _) in children)
        {
            size += BoltFormat.ElementSize + key.Length;
        }

        int pages = (size + BoltFormat.PageSize - 1) / BoltFormat.PageSize;
        byte[] buffer = new byte[pages * BoltFormat.PageSize];
        BoltFormat.WritePageHeader(buffer, _nextPgid, BoltFormat.BranchPage, children.Count, pages - 1);
        int data = BoltFormat.PageHeaderSize + (children.Count * BoltFormat.ElementSize);
        for (int i = 0; i < children.Count; i++)
        {
            (byte[] key, ulong child) = children[i];
            int at = BoltFormat.PageHeaderSize + (i * BoltFormat.ElementSize);
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), (uint)(data - at));
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 4), (uint)key.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(at + 8), child);
            key.CopyTo(buffer.AsSpan(data));
            data += key.Length;
        }

        return Append(buffer, pages);
    }

    private ulong Append(byte[] buffer, int pages)
    {
        ulong pgid = _nextPgid;
        _file.Position = (long)pgid * BoltFormat.PageSize;
        _file.Write(buffer);
        _nextPgid += (ulong)pages;
        return pgid;
    }

    private readonly record struct Element(byte[] Key, byte[] Value, uint Flags);
}
