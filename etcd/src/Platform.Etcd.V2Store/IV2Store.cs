namespace Platform.Etcd.V2Store;

/// <summary>
/// etcd's v2 key tree as a deterministic state machine. The server applies committed raft
/// entries to it in order; given the same calls with the same arguments every replica ends in
/// the same state with the same indexes. Nothing here reads a clock: <c>now</c> arguments are the
/// time the entry was proposed (for expirations) or the time of the read (for TTLs shown).
/// </summary>
/// <remarks>
/// Paths are cleaned like Go's <c>path.Clean("/" + p)</c>. The store index starts at 0 and grows
/// by exactly one per successful mutation (and per expired node); failed operations leave the
/// store unchanged and throw <see cref="V2StoreException"/> with etcd's code, message and cause.
/// All members are safe to call from several threads; watchers are completed on the caller's
/// thread of the mutation that produced the event, without blocking it.
/// </remarks>
public interface IV2Store
{
    /// <summary>The index of the latest mutation.</summary>
    public ulong Index { get; }

    /// <summary>The snapshot format version (2, as etcd).</summary>
    public int Version { get; }

    /// <summary>Whether any node has a TTL (the leader need not propose expiry sweeps otherwise).</summary>
    public bool HasTtlKeys { get; }

    /// <summary>
    /// Reads a node; a directory lists its children, all levels when <paramref name="recursive"/>.
    /// <paramref name="sorted"/> asks for children in key order (they always are here; etcd's
    /// unsorted order is arbitrary). <paramref name="now"/> is for the TTLs shown.
    /// </summary>
    public V2Event Get(string path, bool recursive, bool sorted, DateTimeOffset now);

    /// <summary>Creates or replaces a file, or creates a directory (replacing a directory fails with 102).</summary>
    public V2Event Set(string path, bool dir, string value, V2TtlOptions ttl, DateTimeOffset now);

    /// <summary>
    /// Creates a node that must not exist (105 otherwise). With <paramref name="unique"/>, creates
    /// <c>path/NNNNNNNNNNNNNNNNNNNN</c>, named by the new index zero-padded to 20 digits
    /// (in-order keys, POST). Missing parent directories are created.
    /// </summary>
    public V2Event Create(string path, bool dir, string value, bool unique, V2TtlOptions ttl, DateTimeOffset now);

    /// <summary>Changes the value and TTL of an existing node (a directory: the TTL only).</summary>
    public V2Event Update(string path, string value, V2TtlOptions ttl, DateTimeOffset now);

    /// <summary>
    /// Sets a file's value if it matches: <paramref name="prevValue"/> unless empty, and
    /// <paramref name="prevIndex"/> (the modified index) unless 0. 101 with cause
    /// <c>[prevValue != value]</c>, <c>[prevIndex != index]</c> or both otherwise.
    /// </summary>
    public V2Event CompareAndSwap(string path, string prevValue, ulong prevIndex, string value, V2TtlOptions ttl, DateTimeOffset now);

    /// <summary>Deletes a file, an empty directory (<paramref name="dir"/>) or a tree (<paramref name="recursive"/>).</summary>
    public V2Event Delete(string path, bool dir, bool recursive, DateTimeOffset now);

    /// <summary>Deletes a file if it matches, with the same comparison as <see cref="CompareAndSwap"/>.</summary>
    public V2Event CompareAndDelete(string path, string prevValue, ulong prevIndex, DateTimeOffset now);

    /// <summary>
    /// Removes every node whose expiration is at or before <paramref name="cutoff"/>, earliest
    /// first, each as one <c>expire</c> event with its own index (etcd's SYNC request).
    /// </summary>
    public void DeleteExpiredKeys(DateTimeOffset cutoff);

    /// <summary>
    /// Watches <paramref name="key"/> (and its descendants when <paramref name="recursive"/>) for
    /// the first event with index &gt;= <paramref name="sinceIndex"/> (0: the next one). Events
    /// still in the history (the last 1000) are answered at once; an older
    /// <paramref name="sinceIndex"/> fails with 401. With <paramref name="stream"/>, keeps
    /// delivering events instead of stopping after the first.
    /// </summary>
    public IV2Watcher Watch(string key, bool recursive, bool stream, ulong sinceIndex);

    /// <summary>The whole store (tree, index, event history) as etcd's v2 snapshot JSON.</summary>
    public byte[] Save();

    /// <summary>
    /// Replaces the state with a <see cref="Save"/> result (or a snapshot written by etcd 3.4).
    /// Registered watchers stay registered, as in etcd.
    /// </summary>
    public void Recover(ReadOnlySpan<byte> snapshot);
}

/// <summary>
/// A registered watch. Dispose it when the client goes away; a one-shot watcher is also done
/// after its first event.
/// </summary>
public interface IV2Watcher : IDisposable
{
    /// <summary>The store index when the watch was created (the <c>X-Etcd-Index</c> of the answer).</summary>
    public ulong StartIndex { get; }

    /// <summary>
    /// The next event. Throws <see cref="V2StoreException"/> with code 400 when the watcher was
    /// dropped because its consumer fell 100 events behind, or was disposed;
    /// <see cref="OperationCanceledException"/> on cancellation.
    /// </summary>
    public Task<V2Event> NextAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Every event until the watcher is done: one event for a one-shot watcher; for a stream,
    /// until disposed, cancelled or dropped for falling behind.
    /// </summary>
    public IAsyncEnumerable<V2Event> ReadAllAsync(CancellationToken cancellationToken = default);
}

/// <summary>Creates stores.</summary>
public static class V2Stores
{
    /// <summary>
    /// An empty store at index 0 with <paramref name="namespaces"/> as read-only top-level
    /// directories (etcd's server uses <c>/0</c> for membership and <c>/1</c> for keys, and maps
    /// <c>/v2/keys/foo</c> to <c>/1/foo</c>).
    /// </summary>
    public static IV2Store Create(params string[] namespaces) => new Store.KeyStore(namespaces);
}
