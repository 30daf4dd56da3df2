namespace Platform.Etcd.V2Store.Store;

/// <summary>
/// The v2 key tree. One lock serialises every operation: the v2 API is a compatibility surface,
/// not a hot path, and raft applies entries one at a time anyway.
/// </summary>
internal sealed partial class KeyStore : IV2Store
{
    private const int DefaultVersion = 2;

    private readonly Lock _lock = new();
    private readonly HashSet<string> _readOnly;
    private readonly SortedSet<TreeNode> _ttlNodes = new(ExpirationOrder.Instance);
    private readonly WatcherHub _hub = new(EventHistory.DefaultCapacity);
    private TreeNode _root;
    private ulong _index;
    private long _nextSequence;

    public KeyStore(IEnumerable<string> namespaces)
    {
        _readOnly = new HashSet<string>(StringComparer.Ordinal) { "/" };
        _root = TreeNode.Directory("/", 0, null, null, _nextSequence++);
        foreach (string ns in namespaces)
        {
            string path = PathUtil.Clean(ns);
            _readOnly.Add(path);
            _root.Children!.Add(path[1..], TreeNode.Directory(path, 0, _root, null, _nextSequence++));
        }
    }

    public ulong Index
    {
        get
        {
            lock (_lock)
            {
                return _index;
            }
        }
    }

    public int Version => DefaultVersion;

    public bool HasTtlKeys
    {
        get
        {
            lock (_lock)
            {
                return _ttlNodes.Count != 0;
            }
        }
    }

    /// <summary>Registered watchers (for tests and stats).</summary>
    internal int WatcherCount => _hub.Count;

    public V2Event Get(string path, bool recursive, bool sorted, DateTimeOffset now)
    {
        lock (_lock)
        {
            string nodePath = PathUtil.Clean(path);
            TreeNode n = InternalGet(nodePath);
            (DateTimeOffset? expiration, long ttl) = n.ExpirationAndTtl(now);
            var node = new V2Node
            {
                Key = nodePath,
                Value = n.IsDir ? null : n.Value,
                Dir = n.IsDir,
                Expiration = expiration,
                Ttl = ttl,
                // The node itself is always listed one level; deeper levels only when recursive.
                Nodes = n.IsDir ? n.ListChildren(recursive, now) : null,
                ModifiedIndex = n.ModifiedIndex,
                CreatedIndex = n.CreatedIndex,
            };
            return new V2Event(V2Actions.Get, node, null, _index);
        }
    }

    public V2Event Create(string path, bool dir, string value, bool unique, V2TtlOptions ttl, DateTimeOffset now)
    {
        lock (_lock)
        {
            V2Event e = InternalCreate(path, dir, value, unique, replace: false, ttl, V2Actions.Create, prevNode: null, now);
            _hub.Notify(e);
            return e;
        }
    }

    public V2Event Set(string path, bool dir, string value, V2TtlOptions ttl, DateTimeOffset now)
    {
        lock (_lock)
        {
            TreeNode? existing = TryInternalGet(path, out V2StoreException? getError);
            if (getError is not null && (getError.Error.ErrorCode != V2ErrorCodes.KeyNotFound || ttl.Refresh))
            {
                throw getError;
            }

            if (ttl.Refresh)
            {
                value = existing!.Value;
            }

            V2Node? prev = existing?.Repr(recursive: false, now);
            V2Event e = InternalCreate(path, dir, value, unique: false, replace: true, ttl, V2Actions.Set, prev, now);
            Publish(e);
            return e;
        }
    }

    public V2Event Update(string path, string value, V2TtlOptions ttl, DateTimeOffset now)
    {
        lock (_lock)
        {
            string nodePath = PathUtil.Clean(path);
            ThrowIfReadOnly(nodePath);
            ulong nextIndex = _index + 1;
            TreeNode n = InternalGet(nodePath);
            if (n.IsDir && value.Length != 0)
            {
                throw Error(V2ErrorCodes.NotFile, nodePath);
            }

            if (ttl.Refresh)
            {
                value = n.Value;
            }

            V2Node prev = n.Repr(recursive: false, now);
            if (!n.IsDir)
            {
                n.Value = value;
                n.ModifiedIndex = nextIndex;
            }

            UpdateTtl(n, ExpireTime(ttl, now));
            (DateTimeOffset? expiration, long ttlSeconds) = n.ExpirationAndTtl(now);
            var node = new V2Node
            {
                Key = nodePath,
                Value = n.IsDir ? null : value,
                Dir = n.IsDir,
                Expiration = expiration,
                Ttl = ttlSeconds,
                ModifiedIndex = nextIndex,
                CreatedIndex = n.CreatedIndex,
            };
            _index = nextIndex;
            var e = new V2Event(V2Actions.Update, node, prev, nextIndex, ttl.Refresh);
            Publish(e);
            return e;
        }
    }

    public V2Event CompareAndSwap(string path, string prevValue, ulong prevIndex, string value, V2TtlOptions ttl, DateTimeOffset now)
    {
        lock (_lock)
        {
            string nodePath = PathUtil.Clean(path);
            ThrowIfReadOnly(nodePath);
            TreeNode n = InternalGet(nodePath);
            if (n.IsDir)
            {
                throw Error(V2ErrorCodes.NotFile, nodePath);
            }

            ThrowIfCompareFails(n, prevValue, prevIndex);
            if (ttl.Refresh)
            {
                value = n.Value;
            }

            _index++;
            V2Node prev = n.Repr(recursive: false, now);
            n.Value = value;
            n.ModifiedIndex = _index;
            UpdateTtl(n, ExpireTime(ttl, now));
            (DateTimeOffset? expiration, long ttlSeconds) = n.ExpirationAndTtl(now);
            var node = new V2Node
            {
                Key = nodePath,
                Value = value,
                Expiration = expiration,
                Ttl = ttlSeconds,
                ModifiedIndex = _index,
                CreatedIndex = n.CreatedIndex,
            };
            var e = new V2Event(V2Actions.CompareAndSwap, node, prev, _index, ttl.Refresh);
            Publish(e);
            return e;
        }
    }

    public V2Event Delete(string path, bool dir, bool recursive, DateTimeOffset now)
    {
        lock (_lock)
        {
            string nodePath = PathUtil.Clean(path);
            ThrowIfReadOnly(nodePath);
            dir |= recursive;
            TreeNode n = InternalGet(nodePath);

            // Checked before anything changes, so a failed delete leaves the tree untouched.
            if (n.IsDir && !dir)
            {
                throw Error(V2ErrorCodes.NotFile, n.Path);
            }

            if (n.IsDir && n.Children!.Count != 0 && !recursive)
            {
                throw Error(V2ErrorCodes.DirNotEmpty, n.Path);
            }

            ulong nextIndex = _index + 1;
            var node = new V2Node { Key = nodePath, Dir = n.IsDir, ModifiedIndex = nextIndex, CreatedIndex = n.CreatedIndex };
            var e = new V2Event(V2Actions.Delete, node, n.Repr(recursive: false, now), nextIndex);
            RemoveNode(n, e);
            _index = nextIndex;
            _hub.Notify(e);
            return e;
        }
    }

    public V2Event CompareAndDelete(string path, string prevValue, ulong prevIndex, DateTimeOffset now)
    {
        lock (_lock)
        {
            string nodePath = PathUtil.Clean(path);
            TreeNode n = InternalGet(nodePath);
            if (n.IsDir)
            {
                throw Error(V2ErrorCodes.NotFile, nodePath);
            }

            ThrowIfCompareFails(n, prevValue, prevIndex);
            _index++;
            var node = new V2Node { Key = nodePath, ModifiedIndex = _index, CreatedIndex = n.CreatedIndex };
            var e = new V2Event(V2Actions.CompareAndDelete, node, n.Repr(recursive: false, now), _index);
            RemoveNode(n, e);
            _hub.Notify(e);
            return e;
        }
    }

    public void DeleteExpiredKeys(DateTimeOffset cutoff)
    {
        lock (_lock)
        {
            while (_ttlNodes.Min is { } n && n.ExpireTime <= cutoff)
            {
                _index++;
                var node = new V2Node { Key = n.Path, Dir = n.IsDir, ModifiedIndex = _index, CreatedIndex = n.CreatedIndex };
                var e = new V2Event(V2Actions.Expire, node, n.Repr(recursive: false, cutoff), _index);
                RemoveNode(n, e);
                _hub.Notify(e);
            }
        }
    }

    public IV2Watcher Watch(string key, bool recursive, bool stream, ulong sinceIndex)
    {
        lock (_lock)
        {
            string nodePath = PathUtil.Clean(key);
            if (sinceIndex == 0)
            {
                sinceIndex = _index + 1;
            }

            return _hub.Watch(nodePath, recursive, stream, sinceIndex, _index);
        }
    }

    private static DateTimeOffset? ExpireTime(V2TtlOptions ttl, DateTimeOffset now) => ttl.Ttl is { } t ? now + t : null;

    /// <summary>A refresh only goes into the history; anything else also wakes watchers.</summary>
    private void Publish(V2Event e)
    {
        if (e.Refresh)
        {
            _hub.Add(e);
        }
        else
        {
            _hub.Notify(e);
        }
    }

    private V2Event InternalCreate(string path, bool dir, string value, bool unique, bool replace, V2TtlOptions ttl, string action, V2Node? prevNode, DateTimeOffset now)
    {
        ulong nextIndex = _index + 1;
        if (unique)
        {
            // In-order keys are named by their index, zero-padded to 20 digits so they sort.
            path += "/" + nextIndex.ToString("D20", System.Globalization.CultureInfo.InvariantCulture);
        }

        string nodePath = PathUtil.Clean(path);
        ThrowIfReadOnly(nodePath);
        DateTimeOffset? expireTime = ExpireTime(ttl, now);

        int slash = nodePath.LastIndexOf('/');
        string nodeName = nodePath[(slash + 1)..];
        TreeNode parent = WalkCreatingDirectories(nodePath[..slash], nextIndex);

        if (parent.Children!.TryGetValue(nodeName, out TreeNode? existing))
        {
            if (!replace)
            {
                throw Error(V2ErrorCodes.NodeExist, nodePath);
            }

            if (existing.IsDir)
            {
                throw Error(V2ErrorCodes.NotFile, nodePath);
            }

            RemoveNode(existing, e: null);
        }
        else
        {
            prevNode = null;
        }

        TreeNode n = dir
            ? TreeNode.Directory(nodePath, nextIndex, parent, expireTime, _nextSequence++)
            : TreeNode.File(nodePath, value, nextIndex, parent, expireTime, _nextSequence++);
        parent.Children.Add(nodeName, n);
        if (expireTime is not null)
        {
            _ttlNodes.Add(n);
        }

        (DateTimeOffset? expiration, long ttlSeconds) = n.ExpirationAndTtl(now);
        var node = new V2Node
        {
            Key = nodePath,
            Value = dir ? null : value,
            Dir = dir,
            Expiration = expiration,
            Ttl = ttlSeconds,
            ModifiedIndex = nextIndex,
            CreatedIndex = nextIndex,
        };
        _index = nextIndex;
        return new V2Event(action, node, prevNode, nextIndex, ttl.Refresh);
    }

    /// <summary>
    /// The directory at <paramref name="dirPath"/>, creating missing ones (permanent, created at
    /// <paramref name="createdIndex"/>). Fails with 104 at the first file on the way, before
    /// creating anything below it.
    /// </summary>
    private TreeNode WalkCreatingDirectories(string dirPath, ulong createdIndex)
    {
        TreeNode current = _root;
        foreach (string name in dirPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (current.Children!.TryGetValue(name, out TreeNode? child))
            {
                if (!child.IsDir)
                {
                    throw Error(V2ErrorCodes.NotDir, child.Path);
                }

                current = child;
                continue;
            }

            var created = TreeNode.Directory(PathUtil.Join(current.Path, name), createdIndex, current, null, _nextSequence++);
            current.Children.Add(name, created);
            current = created;
        }

        return current;
    }

    private TreeNode InternalGet(string path)
    {
        TreeNode? n = TryInternalGet(path, out V2StoreException? error);
        return n ?? throw error!;
    }

    private TreeNode? TryInternalGet(string path, out V2StoreException? error)
    {
        TreeNode current = _root;
        foreach (string name in PathUtil.Clean(path).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!current.IsDir)
            {
                error = Error(V2ErrorCodes.NotDir, current.Path);
                return null;
            }

            if (!current.Children!.TryGetValue(name, out TreeNode? child))
            {
                error = Error(V2ErrorCodes.KeyNotFound, PathUtil.Join(current.Path, name));
                return null;
            }

            current = child;
        }

        error = null;
        return current;
    }

    /// <summary>
    /// Unlinks a node and everything below it, children first, telling watchers of each removed
    /// path about <paramref name="e"/> (null: a silent replace).
    /// </summary>
    private void RemoveNode(TreeNode n, V2Event? e)
    {
        if (n.IsDir)
        {
            foreach (TreeNode child in n.Children!.Values.ToArray())
            {
                RemoveNode(child, e);
            }
        }

        if (n.Parent is { } parent && parent.Children!.TryGetValue(n.Name, out TreeNode? linked) && linked == n)
        {
            parent.Children.Remove(n.Name);
            if (e is not null)
            {
                _hub.NotifyDeleted(e, n.Path);
            }

            if (n.ExpireTime is not null)
            {
                _ttlNodes.Remove(n);
            }
        }
    }

    private void UpdateTtl(TreeNode n, DateTimeOffset? expireTime)
    {
        if (n.ExpireTime is not null)
        {
            _ttlNodes.Remove(n);
        }

        n.ExpireTime = expireTime;
        if (expireTime is not null)
        {
            _ttlNodes.Add(n);
        }
    }

    private void ThrowIfCompareFails(TreeNode n, string prevValue, ulong prevIndex)
    {
        bool indexMatch = prevIndex == 0 || n.ModifiedIndex == prevIndex;
        bool valueMatch = prevValue.Length == 0 || n.Value == prevValue;
        string? cause = (valueMatch, indexMatch) switch
        {
            (true, true) => null,
            (false, true) => $"[{prevValue} != {n.Value}]",
            (true, false) => $"[{prevIndex} != {n.ModifiedIndex}]",
            (false, false) => $"[{prevValue} != {n.Value}] [{prevIndex} != {n.ModifiedIndex}]",
        };
        if (cause is not null)
        {
            throw Error(V2ErrorCodes.TestFailed, cause);
        }
    }

    private void ThrowIfReadOnly(string nodePath)
    {
        if (_readOnly.Contains(nodePath))
        {
            // etcd reports "/" whichever read-only directory was hit.
            throw Error(V2ErrorCodes.RootReadOnly, "/");
        }
    }

    private V2StoreException Error(int code, string cause) => new(V2Error.Create(code, cause, _index));

    /// <summary>Earliest expiration first; creation order breaks ties so the order is deterministic.</summary>
    private sealed class ExpirationOrder : IComparer<TreeNode>
    {
        public static readonly ExpirationOrder Instance = new();

        public int Compare(TreeNode? x, TreeNode? y)
        {
            int byTime = Nullable.Compare(x!.ExpireTime, y!.ExpireTime);
            return byTime != 0 ? byTime : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
