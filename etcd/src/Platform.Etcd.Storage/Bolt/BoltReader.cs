using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Platform.Etcd.Storage.Bolt;

/// <summary>One key-value of a bucket; <see cref="IsBucket"/> when the value is a nested bucket.</summary>
internal readonly record struct BoltEntry(byte[] Key, byte[] Value, bool IsBucket);

/// <summary>
/// Reads a bbolt file (ours or one etcd/bbolt wrote): picks the valid meta page with the larger
/// txid and walks bucket trees (branch, leaf and overflow pages, inline buckets). Everything is
/// bounds-checked: a damaged or foreign file gives a <see cref="BoltFormatException"/> naming the
/// file and the problem, never a crash or an endless walk. Read-only (the file is mapped).
/// </summary>
internal sealed unsafe class BoltReader : IDisposable
{
    private const int MaxDepth = 64;
    private readonly string _path;
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _length;

    private BoltReader(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* @base, long length)
    {
        _path = path;
        _map = map;
        _view = view;
        _base = @base;
        _length = length;
    }

    public int PageSize { get; private set; }

    /// <summary>The high-water pgid: pages below it make up the database.</summary>
    public ulong HighWater { get; private set; }

    public ulong Txid { get; private set; }

    public ulong FreelistPgid { get; private set; }

    /// <summary>bbolt's <c>tx.Size()</c>: high-water pgid × page size (what <c>etcdctl snapshot status</c> prints as total size).</summary>
    public long Size => (long)HighWater * PageSize;

    private byte[] RootBucket { get; set; } = [];

    public static BoltReader Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"bolt: {path} does not exist", path);
        }

        long length = info.Length;
        if (length < BoltFormat.PageHeaderSize + BoltFormat.MetaSize)
        {
            throw new BoltFormatException($"bolt: {path} is not a bbolt file: {length} bytes is too small");
        }

        MemoryMappedFile map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            var reader = new BoltReader(path, map, view, pointer + view.PointerOffset, length);
            reader.ReadMeta();
            return reader;
        }
        catch
        {
            if (view is not null)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                view.Dispose();
            }

            map.Dispose();
            throw;
        }
    }

    /// <summary>The top-level buckets (and any plain keys of the root bucket), in key order.</summary>
    public IEnumerable<BoltEntry> Buckets() => Entries(RootBucket);

    /// <summary>The value of top-level bucket <paramref name="name"/> (pass it to <see cref="Entries"/>), or null.</summary>
    public byte[]? FindBucket(ReadOnlySpan<byte> name)
    {
        byte[] wanted = name.ToArray();
        foreach (BoltEntry e in Buckets())
        {
            if (e.IsBucket && e.Key.AsSpan().SequenceEqual(wanted))
            {
                return e.Value;
            }
        }

        return null;
    }

    /// <summary>The entries of the bucket whose value (bucket header, maybe an inline page) is <paramref name="bucketValue"/>, in key order.</summary>
    public IEnumerable<BoltEntry> Entries(byte[] bucketValue)
    {
        ArgumentNullException.ThrowIfNull(bucketValue);
        if (bucketValue.Length < BoltFormat.BucketHeaderSize)
        {
            throw Corrupt($"bucket value of {bucketValue.Length} bytes is shorter than a bucket header");
        }

        ulong root = BinaryPrimitives.ReadUInt64LittleEndian(bucketValue);
        IEnumerable<BoltEntry> entries = root == 0
            ? ParseInline(bucketValue)
            : Walk(root, 0);
        byte[]? previous = null;
        foreach (BoltEntry e in entries)
        {
            if (previous is not null && e.Key.AsSpan().SequenceCompareTo(previous) <= 0)
            {
                throw Corrupt($"keys out of order: {Convert.ToHexString(e.Key)} after {Convert.ToHexString(previous)}");
            }

            previous = e.Key;
            yield return e;
        }
    }

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }

    private void ReadMeta()
    {
        (bool ok0, string? why0, int pageSize0) = TryMeta(0, BoltFormat.PageSize, out Meta meta0);
        int secondAt = ok0 ? pageSize0 : BoltFormat.PageSize;
        (bool ok1, string? why1, _) = TryMeta(secondAt, secondAt, out Meta meta1);
        if (!ok0 && !ok1)
        {
            throw Corrupt($"not a bbolt file or both meta pages are invalid (page 0: {why0}; page 1: {why1})");
        }

        Meta meta = ok0 && (!ok1 || meta0.Txid >= meta1.Txid) ? meta0 : meta1;
        PageSize = (int)meta.PageSize;
        HighWater = meta.HighWater;
        Txid = meta.Txid;
        FreelistPgid = meta.Freelist;
        if (meta.HighWater < 2 || (long)meta.HighWater * meta.PageSize > _length)
        {
            throw Corrupt($"the meta page says {meta.HighWater} pages of {meta.PageSize} bytes but the file has {_length} bytes");
        }

        if (meta.Root < 2 || meta.Root >= meta.HighWater)
        {
            throw Corrupt($"root bucket page {meta.Root} is outside the database (high water {meta.HighWater})");
        }

        byte[] root = new byte[BoltFormat.BucketHeaderSize];
        BinaryPrimitives.WriteUInt64LittleEndian(root, meta.Root);
        RootBucket = root;
    }

    private (bool Ok, string? Why, int PageSize) TryMeta(long offset, int fallbackPageSize, out Meta meta)
    {
        meta = default;
        if (offset + BoltFormat.PageHeaderSize + BoltFormat.MetaSize > _length)
        {
            return (false, "beyond the end of the file", fallbackPageSize);
        }

        var page = new ReadOnlySpan<byte>(_base + offset, BoltFormat.PageHeaderSize + BoltFormat.MetaSize);
        ReadOnlySpan<byte> m = page[BoltFormat.PageHeaderSize..];
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(m);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(m[4..]);
        uint pageSize = BinaryPrimitives.ReadUInt32LittleEndian(m[8..]);
        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(m[56..]);
        if (magic != BoltFormat.Magic)
        {
            return (false, $"magic 0x{magic:X8}, want 0x{BoltFormat.Magic:X8}", fallbackPageSize);
        }

        if (version != BoltFormat.Version)
        {
            return (false, $"version {version}, want {BoltFormat.Version}", fallbackPageSize);
        }

        if (checksum != 0 && checksum != BoltFormat.Fnv1a64(m[..BoltFormat.MetaChecksumOffset]))
        {
            return (false, "checksum mismatch", fallbackPageSize);
        }

        if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) != 0)
        {
            return (false, $"page size {pageSize} is not a power of two between 512 and 1 MiB", fallbackPageSize);
        }

        meta = new Meta(
            pageSize,
            BinaryPrimitives.ReadUInt64LittleEndian(m[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(m[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(m[40..]),
            BinaryPrimitives.ReadUInt64LittleEndian(m[48..]));
        return (true, null, (int)pageSize);
    }

    private IEnumerable<BoltEntry> Walk(ulong pgid, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Corrupt($"bucket tree deeper than {MaxDepth} levels at page {pgid} (a cycle?)");
        }

        (List<BoltEntry>? leaf, List<ulong>? children) = ParsePage(pgid);
        if (leaf is not null)
        {
            foreach (BoltEntry e in leaf)
            {
                yield return e;
            }

            yield break;
        }

        foreach (ulong child in children!)
        {
            foreach (BoltEntry e in Walk(child, depth + 1))
            {
                yield return e;
            }
        }
    }

    private (List<BoltEntry>? Leaf, List<ulong>? Children) ParsePage(ulong pgid)
    {
        if (pgid < 2 || pgid >= HighWater)
        {
            throw Corrupt($"page {pgid} is outside the database (high water {HighWater})");
        }

        long offset = (long)pgid * PageSize;
        var header = new ReadOnlySpan<byte>(_base + offset, BoltFormat.PageHeaderSize);
        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(header);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
        uint overflow = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (id != pgid)
        {
            throw Corrupt($"page {pgid} carries id {id}");
        }

        if (pgid + overflow >= HighWater)
        {
            throw Corrupt($"page {pgid} overflows by {overflow} pages past the high water {HighWater}");
        }

        var page = new ReadOnlySpan<byte>(_base + offset, (int)Math.Min(int.MaxValue, (1 + (long)overflow) * PageSize));
        return flags switch
        {
            BoltFormat.LeafPage => (ParseLeaf(page, count, $"page {pgid}"), null),
            BoltFormat.BranchPage => (null, ParseBranch(page, count, pgid)),
            _ => throw Corrupt($"page {pgid} has flags 0x{flags:x2}, want a branch (0x01) or leaf (0x02) page"),
        };
    }

    private List<BoltEntry> ParseInline(byte[] bucketValue)
    {
        ReadOnlySpan<byte> page = bucketValue.AsSpan(BoltFormat.BucketHeaderSize);
        if (page.Length < BoltFormat.PageHeaderSize)
        {
            throw Corrupt("inline bucket shorter than a page header");
        }

        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(page[8..]);
        if ((flags & BoltFormat.LeafPage) == 0)
        {
            throw Corrupt($"inline bucket page has flags 0x{flags:x2}, want a leaf");
        }

        return ParseLeaf(page, BinaryPrimitives.ReadUInt16LittleEndian(page[10..]), "inline bucket");
    }

    private List<BoltEntry> ParseLeaf(ReadOnlySpan<byte> page, int count, string where)
    {
        if (BoltFormat.PageHeaderSize + ((long)count * BoltFormat.ElementSize) > page.Length)
        {
            throw Corrupt($"{where}: {count} elements do not fit in {page.Length} bytes");
        }

        var entries = new List<BoltEntry>(count);
        for (int i = 0; i < count; i++)
        {
            int at = BoltFormat.PageHeaderSize + (i * BoltFormat.ElementSize);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(page[at..]);
            long pos = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 4)..]);
            long ksize = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 8)..]);
            long vsize = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 12)..]);
            long start = at + pos;
            if (start + ksize + vsize > page.Length)
            {
                throw Corrupt($"{where}: element {i} (key {ksize} bytes, value {vsize} bytes at +{pos}) runs past the page");
            }

            byte[] key = page.Slice((int)start, (int)ksize).ToArray();
            byte[] value = page.Slice((int)(start + ksize), (int)vsize).ToArray();
            bool isBucket = (flags & BoltFormat.BucketLeafFlag) != 0;
            if (isBucket && value.Length < BoltFormat.BucketHeaderSize)
            {
                throw Corrupt($"{where}: bucket {Convert.ToHexString(key)} has a {value.Length}-byte value");
            }

            entries.Add(new BoltEntry(key, value, isBucket));
        }

        return entries;
    }

    private List<ulong> ParseBranch(ReadOnlySpan<byte> page, int count, ulong pgid)
    {
        if (count == 0 || BoltFormat.PageHeaderSize + ((long)count * BoltFormat.ElementSize) > page.Length)
        {
            throw Corrupt($"branch page {pgid}: {count} elements do not fit in {page.Length} bytes");
        }

        var children = new List<ulong>(count);
        for (int i = 0; i < count; i++)
        {
            int at = BoltFormat.PageHeaderSize + (i * BoltFormat.ElementSize);
            long pos = BinaryPrimitives.ReadUInt32LittleEndian(page[at..]);
            long ksize = BinaryPrimitives.ReadUInt32LittleEndian(page[(at + 4)..]);
            if (at + pos + ksize > page.Length)
            {
                throw Corrupt($"branch page {pgid}: element {i} runs past the page");
            }

            children.Add(BinaryPrimitives.ReadUInt64LittleEndian(page[(at + 8)..]));
        }

        return children;
    }

    private BoltFormatException Corrupt(string what) => new($"bolt: {_path}: {what}");

    private readonly record struct Meta(uint PageSize, ulong Root, ulong Freelist, ulong HighWater, ulong Txid);
}
