using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Platform.Etcd.Storage.Snap;

/// <summary>Creates <see cref="ISnapshotter"/>s.</summary>
public static class Snapshotter
{
    /// <summary>A snapshotter over <paramref name="directory"/>, created if missing; stale temporary files are removed.</summary>
    public static ISnapshotter Create(string directory, ILogger? logger = null) =>
        new SnapshotFiles(directory, logger ?? NullLogger.Instance);
}
