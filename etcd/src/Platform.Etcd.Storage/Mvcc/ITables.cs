namespace Platform.Etcd.Storage.Mvcc;

/// <summary>
/// Named tables of byte keys and values kept in the backend beside the key space: the server's
/// leases, auth and membership (etcd's extra bbolt buckets). No revisions, no history.
/// </summary>
/// <remarks>
/// <para>Writes take part in the current writer: inside <see cref="IKvStore.BeginBatch"/> (through
/// <see cref="IKvStore.Tables"/>) or a write transaction (through <see cref="IWriteTxn.Tables"/>)
/// they are committed to the backend atomically with that batch's key-space changes and its
/// consistent index. Outside both, each <see cref="Put"/> or <see cref="Delete"/> on
/// <see cref="IKvStore.Tables"/> is a writer of its own (it waits for the current one). Do not
/// call <see cref="IKvStore.Tables"/>' writes while holding a write transaction outside a batch:
/// use that transaction's <see cref="IWriteTxn.Tables"/>.</para>
/// <para>Visibility: a write is visible to every reader as soon as the call returns (tables have
/// no revisions); after a crash the backend holds the tables as of its last commit, like the key
/// space, and the server's WAL replay redoes the rest.</para>
/// <para>Included in the backend snapshot (<see cref="IKvStore.CopySnapshotTo"/>), in
/// defragmentation and in <see cref="IKvStore.Hash"/>; not in <see cref="IKvStore.HashKV"/>,
/// which covers the key space only, as etcd's.</para>
/// <para>Names: 1–64 characters of letters, digits, '_', '-' and '.'; "key" and "meta" are the
/// store's own. Keys: 1–511 bytes (LMDB's key limit). Values: any length.</para>
/// </remarks>
public interface ITables
{
    /// <summary>The value of <paramref name="key"/> in <paramref name="table"/>, or null when absent (or the table does not exist).</summary>
    public byte[]? Get(string table, ReadOnlySpan<byte> key);

    /// <summary>
    /// The entries of <paramref name="table"/> with keys in [<paramref name="from"/>, <paramref name="to"/>)
    /// in key order (bytewise); an empty <paramref name="to"/> means to the end.
    /// </summary>
    public IReadOnlyList<TableEntry> Scan(string table, ReadOnlySpan<byte> from = default, ReadOnlySpan<byte> to = default);

    /// <summary>Sets <paramref name="key"/> in <paramref name="table"/> (created on first use) to <paramref name="value"/>.</summary>
    public void Put(string table, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Removes <paramref name="key"/> from <paramref name="table"/>.</summary>
    /// <returns>Whether the key was there.</returns>
    public bool Delete(string table, ReadOnlySpan<byte> key);
}

/// <summary>An entry of a server table. The arrays are the caller's.</summary>
public readonly record struct TableEntry(byte[] Key, byte[] Value);

/// <summary>The table names etcd's server uses (its bbolt bucket names); created when the backend is opened.</summary>
public static class ServerTables
{
    /// <summary>Lease id (8 bytes, big-endian) → lease.</summary>
    public const string Lease = "lease";

    /// <summary>User name → user.</summary>
    public const string AuthUsers = "authUsers";

    /// <summary>Role name → role.</summary>
    public const string AuthRoles = "authRoles";

    /// <summary>"authEnabled", "authRevision".</summary>
    public const string Auth = "auth";

    /// <summary>Member id → member.</summary>
    public const string Members = "members";

    /// <summary>Removed member ids.</summary>
    public const string MembersRemoved = "members_removed";

    /// <summary>"clusterVersion" and friends.</summary>
    public const string Cluster = "cluster";

    internal static readonly string[] WellKnown = [Lease, AuthUsers, AuthRoles, Auth, Members, MembersRemoved, Cluster];
}
