using Platform.Etcd.Storage.Wal;
using Platform.Raft;

namespace Platform.Etcd.Storage.Snap;

/// <summary>
/// Raft snapshot files in <c>member/snap</c>: <c>%016x-%016x.snap</c> (term-index), each holding a
/// CRC-32C-checked serialized <see cref="Snapshot"/>. (In etcd v3 the snapshot's data is small:
/// the state machine itself is the backend database, sent separately.)
/// </summary>
public interface ISnapshotter
{
    /// <summary>The snapshot directory.</summary>
    public string Directory { get; }

    /// <summary>
    /// Writes <paramref name="snapshot"/> durably: a temporary file, fsync, rename, fsync of the
    /// directory. An empty snapshot (index 0) is not written.
    /// </summary>
    public void SaveSnap(Snapshot snapshot);

    /// <summary>
    /// The newest snapshot that loads (checksum and decoding); unloadable files are renamed to
    /// <c>*.broken</c> and skipped, as etcd does.
    /// </summary>
    /// <exception cref="SnapshotNotFoundException">No file loads.</exception>
    public Snapshot Load();

    /// <summary>
    /// Like <see cref="Load"/>, but only a snapshot whose (term, index) is among
    /// <paramref name="walSnapshots"/> (see <see cref="WriteAheadLog.ReadSnapshots"/>) qualifies,
    /// so the WAL can be opened at it.
    /// </summary>
    /// <exception cref="SnapshotNotFoundException">No matching file loads.</exception>
    public Snapshot LoadNewestAvailable(IReadOnlyCollection<WalSnapshot> walSnapshots);

    /// <summary>Deletes the oldest snapshot files while more than <paramref name="maxFiles"/> remain (etcd: <c>--max-snapshots</c>, 5).</summary>
    /// <returns>The deleted paths.</returns>
    public IReadOnlyList<string> Purge(int maxFiles);
}

/// <summary>etcd's ErrNoSnapshot: "snap: no available snapshot".</summary>
public sealed class SnapshotNotFoundException : IOException
{
    public SnapshotNotFoundException()
        : base("snap: no available snapshot")
    {
    }

    public SnapshotNotFoundException(string message)
        : base(message)
    {
    }

    public SnapshotNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
