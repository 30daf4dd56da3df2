using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// etcd's MVCC key-value store: every change gets a revision, history is readable at past
/// revisions until compacted, and watchers follow applied changes.
/// </summary>
/// <remarks>
/// <para>Writers are serialised (in etcd, by raft apply): one <see cref="IWriteTxn"/> or
/// <see cref="BeginBatch"/> at a time; a second writer waits. Readers never wait for writers,
/// backend commits, compaction or defragmentation: a read sees the last applied revision (a
/// write transaction's changes become visible when it ends).</para>
/// <para>Durability: the WAL is the durability point. Backend commits (one LMDB transaction and
/// one fdatasync each) happen in the background every <see cref="MvccOptions.BackendBatchInterval"/>
/// or <see cref="MvccOptions.BackendBatchLimit"/> ops, as etcd's batch transaction, and only
/// between writers: never inside a write transaction or a batch. Each commit records the raft
/// position of the last applied entry (<see cref="ConsistentIndex"/>) in the same LMDB
/// transaction, so after a crash the backend is at some earlier commit with exactly the changes up
/// to its consistent index, and the server replays the WAL entries above it. For that the server
/// applies each entry (or each batch of entries) inside <see cref="BeginBatch"/> and calls
/// <see cref="SetConsistentIndex"/> within it.</para>
/// <para>Key ranges: an empty <c>rangeEnd</c> means the single key; the one byte "\0" means every
/// key at or after <c>key</c>; anything else is the half-open range [key, rangeEnd). A rangeEnd
/// at or below a non-empty key is an empty range.</para>
/// <para>The returned <see cref="KeyValue"/> and <see cref="Event"/> messages may be shared with
/// other callers: treat them as immutable.</para>
/// </remarks>
public interface IKvStore : IDisposable
{
    /// <summary>The last applied revision, what readers see (1 for an empty store: the first write gets 2).</summary>
    public long CurrentRevision { get; }

    /// <summary>The revision of the last compaction, 0 when there was none.</summary>
    public long CompactedRevision { get; }

    /// <summary>The raft position of the last applied entry (the last <see cref="SetConsistentIndex"/>, or what the backend held at open).</summary>
    public RaftPosition ConsistentIndex { get; }

    /// <summary>The consistent index of the last backend commit: what a restart after a crash would start from.</summary>
    public RaftPosition CommittedConsistentIndex { get; }

    /// <summary>
    /// The server tables (leases, auth, membership): reads see every applied change; writes take
    /// part in the open batch (see <see cref="ITables"/>).
    /// </summary>
    public ITables Tables { get; }

    /// <summary>The backend's size (LMDB pages up to the highest one used), what the quota is checked against.</summary>
    public long DbSizeBytes { get; }

    /// <summary>
    /// <see cref="DbSizeBytes"/> plus the bytes of the applied batches not committed yet: what a
    /// put is checked against (the server checks a request's estimated cost against it before
    /// proposing, as etcd's quota does).
    /// </summary>
    public long QuotaUsedBytes { get; }

    /// <summary>The bytes of pages holding data; <see cref="DbSizeBytes"/> minus this is what defragmenting would free.</summary>
    public long DbSizeInUseBytes { get; }

    /// <summary>Whether a write went over the quota; puts fail until <see cref="DisarmNoSpaceAlarm"/>.</summary>
    public bool NoSpaceAlarm { get; }

    /// <summary>A read snapshot at the current revision. Dispose it promptly: it pins LMDB pages.</summary>
    public IReadTxn Read();

    /// <summary>
    /// A write transaction: its changes get revision <see cref="CurrentRevision"/> + 1 and become
    /// visible to readers and watchers when it ends. Waits for the previous writer (inside a batch,
    /// the flow that owns the batch does not wait).
    /// </summary>
    public IWriteTxn Write();

    /// <summary>
    /// Makes the write transactions, table writes and <see cref="SetConsistentIndex"/> calls that
    /// follow, until it is disposed, one unit for the backend: a background commit comes before or
    /// after it, never inside it, so the backend never holds part of an applied entry, or an entry
    /// without its consistent index. Each transaction is still visible when it ends. The server
    /// opens one per applied entry or batch of entries. While it is open only its owner writes
    /// without waiting: the async flow that opened it (across awaits and thread hops, and tasks it
    /// starts, since ownership is an <see cref="AsyncLocal{T}"/>); other writers wait for its end.
    /// Disposing does not commit.
    /// </summary>
    public IDisposable BeginBatch();

    /// <summary>
    /// Records the raft position of the last applied entry; the next backend commit persists it with
    /// the changes applied up to now. Call it inside the entry's batch (see <see cref="BeginBatch"/>).
    /// </summary>
    public void SetConsistentIndex(RaftPosition position);

    /// <summary>
    /// Commits everything applied so far (with the consistent index) to the backend and returns once
    /// it is durable: etcd's ForceCommit. Call it before a raft snapshot at the applied index lets
    /// the WAL before it be released or purged. Waits for the current writer to finish; must not
    /// be called from the flow that holds a write transaction or batch.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from the flow holding the writer, or the store failed to commit earlier.</exception>
    public void ForceCommit();

    /// <summary>Range at the current revision (a read transaction of its own).</summary>
    public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default);

    /// <summary>
    /// Compacts history: for each key, only its newest revision at or below
    /// <paramref name="revision"/> remains readable (deleted keys vanish). The index is compacted
    /// before this returns; the key table is cleaned in the background, 1,000 revisions per
    /// backend transaction so writers wait at most one such batch.
    /// </summary>
    /// <returns>A task that completes when the key table is clean.</returns>
    /// <exception cref="MvccException">Compacted (at or below the last compaction) or FutureRevision.</exception>
    public Task Compact(long revision);

    /// <summary>
    /// CRC-32C of the whole backend (every table, server tables included, and contents, excluding
    /// the consistent index) after committing what is applied: for debugging, it depends on
    /// compaction progress.
    /// </summary>
    public uint Hash();

    /// <summary>
    /// CRC-32C of the key table up to <paramref name="revision"/> (0 = current), independent of
    /// how far physical compaction got: two members with the same history agree. Commits what is
    /// applied first (a maintenance call: it waits for the current writer and one fdatasync).
    /// </summary>
    /// <remarks>
    /// Definition (etcd 3.4's): the CRC-32C of the bytes "key", then, in revision order, of the
    /// key-table key and value of every revision r with r.main ≤ revision, except revisions at or
    /// below the compacted revision that a compaction at <paramref name="revision"/> would not keep
    /// (when it would keep some).
    /// </remarks>
    /// <exception cref="MvccException">Compacted or FutureRevision.</exception>
    public HashKvResult HashKV(long revision);

    /// <summary>
    /// Rewrites the backend compactly (LMDB compacting copy) and swaps it in. Writes and reads
    /// continue throughout: backend commits made during the copy are recorded and replayed into it;
    /// only background commits pause, for the final replay and the file swap.
    /// </summary>
    public Task DefragmentAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The applied changes from <paramref name="fromRevision"/> on, read from the key table and the
    /// not yet committed batches, for watchers catching up: at most <paramref name="limit"/> events
    /// (0 = no limit), ending on a whole revision.
    /// </summary>
    /// <param name="fromRevision">The first revision wanted; above the compacted revision.</param>
    /// <param name="limit">Stop after this many events, at a revision boundary (0 = no limit).</param>
    /// <param name="includePrevKv">Fill <see cref="Event.PrevKv"/> (one more lookup per event).</param>
    /// <exception cref="MvccException">Compacted when <paramref name="fromRevision"/> is at or below the compacted revision.</exception>
    public ChangesResult Changes(long fromRevision, int limit = 0, bool includePrevKv = false);

    /// <summary>
    /// Calls <paramref name="observer"/> with the changes of each revision when it becomes visible
    /// (as its write transaction ends, before the writer is released; not at the backend commit),
    /// in revision order, on the writing thread: hand the work off, do not block, do not write.
    /// Events carry <see cref="Event.PrevKv"/>. Dispose the result to unsubscribe.
    /// </summary>
    public IDisposable Subscribe(Action<RevisionChanges> observer);

    /// <summary>Clears the NOSPACE alarm (after compacting and defragmenting).</summary>
    public void DisarmNoSpaceAlarm();

    /// <summary>
    /// Commits what is applied, then writes a consistent, compacted copy of the backend (server
    /// tables and consistent index included) to <paramref name="path"/> (a raft snapshot's state).
    /// </summary>
    public void CopySnapshotTo(string path);
}

/// <summary>A read transaction: every range reads the same revision.</summary>
public interface IReadTxn : IDisposable
{
    /// <summary>The revision this transaction reads (for a write transaction, including its own changes so far).</summary>
    public long Revision { get; }

    /// <summary>Keys in the range live at <see cref="RangeOptions.Revision"/> (0 = <see cref="Revision"/>), in key order.</summary>
    /// <exception cref="MvccException">Compacted (below the compacted revision) or FutureRevision.</exception>
    public RangeResult Range(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, RangeOptions options = default);
}

/// <summary>
/// A write transaction: all its changes share one main revision (sub revisions in order);
/// <see cref="IDisposable.Dispose"/> ends it: its changes become visible to readers and watchers
/// (the backend commits them later, see <see cref="IKvStore"/>). A transaction without changes
/// does not consume a revision.
/// </summary>
public interface IWriteTxn : IReadTxn
{
    /// <summary>Sets <paramref name="key"/> (non-empty) to <paramref name="value"/>.</summary>
    /// <returns>The revision of the change.</returns>
    /// <exception cref="MvccException">NoSpace: over the quota or the NOSPACE alarm is raised; nothing was changed.</exception>
    public long Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long lease = 0);

    /// <summary>Deletes the live keys in the range.</summary>
    /// <returns>How many keys were deleted, and the revision (the transaction's, if any were).</returns>
    public (long Deleted, long Revision) DeleteRange(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd);

    /// <summary>The changes so far: put key-values, and deletes as key-values with only the key set.</summary>
    public IReadOnlyList<KeyValue> Changes { get; }

    /// <summary>The server tables, written as part of this transaction's writer (see <see cref="ITables"/>); usable until it ends.</summary>
    public ITables Tables { get; }
}

/// <summary>Options of a range.</summary>
/// <param name="Limit">Return at most this many key-values (0 = all); <see cref="RangeResult.Count"/> still counts all.</param>
/// <param name="Revision">Read at this revision (0 = the transaction's).</param>
/// <param name="CountOnly">Return only the count.</param>
/// <param name="KeysOnly">Return key-values without values.</param>
public readonly record struct RangeOptions(long Limit = 0, long Revision = 0, bool CountOnly = false, bool KeysOnly = false);

/// <summary>The result of a range.</summary>
/// <param name="Kvs">The key-values, in key order.</param>
/// <param name="Count">How many keys the range holds at the revision, regardless of the limit.</param>
/// <param name="Revision">The store's revision the read ran at (not the requested historical one), as etcd's header.</param>
public sealed record RangeResult(IReadOnlyList<KeyValue> Kvs, long Count, long Revision);

/// <summary>The raft entry last applied: the server skips entries at or below it after a restart.</summary>
public readonly record struct RaftPosition(ulong Index, ulong Term);

/// <summary>The result of <see cref="IKvStore.HashKV"/>.</summary>
public readonly record struct HashKvResult(uint Hash, long CurrentRevision, long CompactRevision);

/// <summary>The committed changes of one revision.</summary>
public sealed record RevisionChanges(long Revision, IReadOnlyList<Event> Events);

/// <summary>The result of <see cref="IKvStore.Changes"/>.</summary>
/// <param name="Events">Events in revision order.</param>
/// <param name="NextRevision">The revision to continue from.</param>
/// <param name="CurrentRevision">The store's revision when read.</param>
public sealed record ChangesResult(IReadOnlyList<Event> Events, long NextRevision, long CurrentRevision);
