namespace Platform.Etcd.Storage.Wal;

/// <summary>The kinds of WAL record (the <c>type</c> field of <c>WalRecord</c>); values are the file format.</summary>
internal enum WalRecordType : long
{
    /// <summary>The log's metadata bytes; the first data record of every segment.</summary>
    Metadata = 1,

    /// <summary>A serialized raft Entry.</summary>
    Entry = 2,

    /// <summary>A serialized raft HardState.</summary>
    State = 3,

    /// <summary>The CRC chain value at the end of the previous segment; the first record of every segment.</summary>
    Crc = 4,

    /// <summary>A serialized WalSnapshot marker.</summary>
    Snapshot = 5,
}
