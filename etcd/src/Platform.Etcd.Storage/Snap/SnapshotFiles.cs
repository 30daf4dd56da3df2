using System.Globalization;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Storage.Internal;
using Platform.Etcd.Storage.Snap.Proto;
using Platform.Etcd.Storage.Wal;
using Platform.Raft;

namespace Platform.Etcd.Storage.Snap;

/// <summary>The <see cref="ISnapshotter"/> implementation.</summary>
internal sealed partial class SnapshotFiles : ISnapshotter
{
    private const string Extension = ".snap";
    private const string TemporaryExtension = ".snap.tmp";
    private const string BrokenExtension = ".broken";
    private readonly ILogger _logger;

    public SnapshotFiles(string directory, ILogger logger)
    {
        Directory = Path.GetFullPath(directory);
        _logger = logger;
        System.IO.Directory.CreateDirectory(Directory);
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + TemporaryExtension))
        {
            File.Delete(path);
        }
    }

    public string Directory { get; }

    public static string FileName(ulong term, ulong index) => $"{term:x16}-{index:x16}{Extension}";

    public void SaveSnap(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Metadata is null || snapshot.Metadata.Index == 0)
        {
            return;
        }

        byte[] data = snapshot.ToByteArray();
        byte[] file = new SnapshotFile { Crc = Crc32C.Compute(data), Data = UnsafeByteOperations.UnsafeWrap(data) }.ToByteArray();
        string path = Path.Combine(Directory, FileName(snapshot.Metadata.Term, snapshot.Metadata.Index));
        string temporary = path[..^Extension.Length] + TemporaryExtension;
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(file);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        PosixFile.SyncDirectory(Directory);
    }

    public Snapshot Load() => LoadMatching(_ => true) ?? throw new SnapshotNotFoundException();

    public Snapshot LoadNewestAvailable(IReadOnlyCollection<WalSnapshot> walSnapshots)
    {
        ArgumentNullException.ThrowIfNull(walSnapshots);
        var available = walSnapshots.Select(s => (s.Term, s.Index)).ToHashSet();
        return LoadMatching(s => available.Contains((s.Metadata.Term, s.Metadata.Index))) ?? throw new SnapshotNotFoundException();
    }

    public IReadOnlyList<string> Purge(int maxFiles)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFiles);
        List<string> names = SnapshotNames();
        names.Reverse();
        var deleted = new List<string>();
        for (int i = 0; i < names.Count - maxFiles; i++)
        {
            string path = Path.Combine(Directory, names[i]);
            File.Delete(path);
            deleted.Add(path);
        }

        if (deleted.Count > 0)
        {
            PosixFile.SyncDirectory(Directory);
        }

        return deleted;
    }

    /// <summary>Reads and checks one snapshot file.</summary>
    /// <exception cref="InvalidDataException">Empty, undecodable or checksum mismatch.</exception>
    internal static Snapshot Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0)
        {
            throw new InvalidDataException("snap: empty snapshot");
        }

        SnapshotFile file;
        try
        {
            file = SnapshotFile.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException("snap: undecodable snapshot file", e);
        }

        if (file.Data.IsEmpty)
        {
            throw new InvalidDataException("snap: snapshot file holds no data");
        }

        uint crc = Crc32C.Compute(file.Data.Span);
        if (crc != file.Crc)
        {
            throw new InvalidDataException($"snap: crc mismatch: file has 0x{file.Crc:x8}, computed 0x{crc:x8}");
        }

        try
        {
            return Snapshot.Parser.ParseFrom(file.Data);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException("snap: undecodable raft snapshot", e);
        }
    }

    private Snapshot? LoadMatching(Func<Snapshot, bool> matches)
    {
        foreach (string name in SnapshotNames())
        {
            string path = Path.Combine(Directory, name);
            Snapshot snapshot;
            try
            {
                snapshot = Read(path);
            }
            catch (InvalidDataException e)
            {
                LogBroken(_logger, path, e.Message);
                File.Move(path, path + BrokenExtension, overwrite: true);
                continue;
            }

            if (matches(snapshot))
            {
                return snapshot;
            }
        }

        return null;
    }

    /// <summary>Valid snapshot file names, newest (highest term, then index) first.</summary>
    private List<string> SnapshotNames()
    {
        var names = new List<(ulong Term, ulong Index, string Name)>();
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            string name = Path.GetFileName(path);
            if (name.Length == 16 + 1 + 16 + Extension.Length && name[16] == '-'
                && ulong.TryParse(name.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong term)
                && ulong.TryParse(name.AsSpan(17, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong index))
            {
                names.Add((term, index, name));
            }
        }

        return names.OrderByDescending(n => n.Term).ThenByDescending(n => n.Index).Select(n => n.Name).ToList();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "snap: {Path} is broken ({Reason}); renamed to *.broken")]
    private static partial void LogBroken(ILogger logger, string path, string reason);
}
