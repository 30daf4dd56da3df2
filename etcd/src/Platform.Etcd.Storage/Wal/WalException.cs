namespace Platform.Etcd.Storage.Wal;

/// <summary>The log cannot be used as it is on disk, or was used out of order.</summary>
public sealed class WalException : IOException
{
    public WalException(string message)
        : base(message)
    {
    }

    public WalException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public WalException(string message, string filePath, long offsetBytes)
        : base($"{message} (file {filePath}, offset {offsetBytes})")
    {
        FilePath = filePath;
        OffsetBytes = offsetBytes;
    }

    /// <summary>The segment the problem was found in, when it is about one.</summary>
    public string? FilePath { get; }

    /// <summary>The byte offset of the offending frame in <see cref="FilePath"/>, or -1.</summary>
    public long OffsetBytes { get; } = -1;
}
