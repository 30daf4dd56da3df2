namespace Platform.Etcd.V2Store.Store;

/// <summary>A file or directory of the key tree. Mutated only under the store's lock.</summary>
internal sealed class TreeNode
{
    private TreeNode(string path, ulong createdIndex, TreeNode? parent, DateTimeOffset? expireTime, string value, bool dir, long sequence)
    {
        Path = path;
        CreatedIndex = createdIndex;
        ModifiedIndex = createdIndex;
        Parent = parent;
        ExpireTime = expireTime;
        Value = value;
        Children = dir ? new SortedDictionary<string, TreeNode>(StringComparer.Ordinal) : null;
        Sequence = sequence;
    }

    public string Path { get; }

    public ulong CreatedIndex { get; set; }

    public ulong ModifiedIndex { get; set; }

    public TreeNode? Parent { get; set; }

    /// <summary>Null: permanent.</summary>
    public DateTimeOffset? ExpireTime { get; set; }

    public string Value { get; set; }

    /// <summary>Null for files. Kept in ordinal key order, so listings are always sorted.</summary>
    public SortedDictionary<string, TreeNode>? Children { get; }

    /// <summary>Creation order, the tie-breaker between equal expiration times.</summary>
    public long Sequence { get; }

    public bool IsDir => Children is not null;

    public string Name => Path[(Path.LastIndexOf('/') + 1)..];

    /// <summary>Names starting with '_' are left out of directory listings.</summary>
    public bool IsHidden => Name.StartsWith('_');

    public static TreeNode File(string path, string value, ulong createdIndex, TreeNode? parent, DateTimeOffset? expireTime, long sequence) =>
        new(path, createdIndex, parent, expireTime, value, dir: false, sequence);

    public static TreeNode Directory(string path, ulong createdIndex, TreeNode? parent, DateTimeOffset? expireTime, long sequence) =>
        new(path, createdIndex, parent, expireTime, "", dir: true, sequence);

    /// <summary>The API view. A directory lists its visible children when <paramref name="recursive"/>.</summary>
    public V2Node Repr(bool recursive, DateTimeOffset now)
    {
        (DateTimeOffset? expiration, long ttl) = ExpirationAndTtl(now);
        return new V2Node
        {
            Key = Path,
            Value = IsDir ? null : Value,
            Dir = IsDir,
            Expiration = expiration,
            Ttl = ttl,
            Nodes = IsDir && recursive ? ListChildren(recursive: true, now) : null,
            ModifiedIndex = ModifiedIndex,
            CreatedIndex = CreatedIndex,
        };
    }

    /// <summary>The visible children, each listed further only when <paramref name="recursive"/>.</summary>
    public List<V2Node> ListChildren(bool recursive, DateTimeOffset now)
    {
        var nodes = new List<V2Node>(Children!.Count);
        foreach (TreeNode child in Children.Values)
        {
            if (!child.IsHidden)
            {
                nodes.Add(child.Repr(recursive, now));
            }
        }

        return nodes;
    }

    /// <summary>
    /// The expiration in UTC and the TTL in whole seconds rounded up (etcd: 1..n, not 1..n+1),
    /// or (null, 0) for a permanent node.
    /// </summary>
    public (DateTimeOffset? Expiration, long Ttl) ExpirationAndTtl(DateTimeOffset now)
    {
        if (ExpireTime is not { } expire)
        {
            return (null, 0);
        }

        long ticks = (expire - now).Ticks;
        long ttl = ticks / TimeSpan.TicksPerSecond;
        if (ticks % TimeSpan.TicksPerSecond > 0)
        {
            ttl++;
        }

        return (expire.ToUniversalTime(), ttl);
    }
}
