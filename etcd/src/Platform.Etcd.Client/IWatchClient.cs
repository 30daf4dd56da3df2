namespace Platform.Etcd.Client;

/// <summary>What a watch delivers, and from where.</summary>
public sealed record WatchOptions
{
    /// <summary>The first revision to deliver; 0 (the default) is "changes after now".</summary>
    public long StartRevision { get; init; }

    /// <summary>Deliver each event's previous key-value.</summary>
    public bool PrevKv { get; init; }

    /// <summary>Leave out put events.</summary>
    public bool NoPut { get; init; }

    /// <summary>Leave out delete events.</summary>
    public bool NoDelete { get; init; }

    /// <summary>
    /// Ask etcd for periodic progress notifications (batches without events whose header revision
    /// says everything up to it has been delivered; etcd 3.4 sends one every 10 minutes).
    /// </summary>
    public bool ProgressNotify { get; init; }
}

public enum WatchEventType
{
    Put,
    Delete,
}

/// <summary>One change; a delete's <see cref="Kv"/> carries the key and the deleting revision as ModRevision.</summary>
public sealed record WatchEvent(WatchEventType Type, KeyValue Kv, KeyValue? PrevKv);

/// <summary>
/// One batch of events in revision order; all events of one revision are always in the same batch.
/// A batch without events is a progress notification: every change up to
/// <see cref="ResponseHeader.Revision"/> has been delivered.
/// </summary>
public sealed record WatchResponse(ResponseHeader Header, IReadOnlyList<WatchEvent> Events)
{
    public bool IsProgressNotify => Events.Count == 0;
}

/// <summary>The Watch service.</summary>
public interface IWatchClient
{
    /// <summary>
    /// Changes to the keys of <paramref name="range"/>, as an endless stream of batches, each batch's
    /// revisions greater than the previous batch's. The watch is registered when enumeration starts.
    /// </summary>
    /// <remarks>
    /// Resumption: when the stream breaks (member down, connection lost, etcd restarted) the watch is
    /// re-created, on any endpoint, from the last delivered revision + 1 (or from the revision the
    /// watch was registered at), so no event is lost or repeated. Retries go on with backoff (50 ms
    /// doubling to 1 s) until the enumeration is cancelled or disposed.
    /// </remarks>
    /// <exception cref="EtcdCompactedException">
    /// The start revision, or the revision to resume from, has been compacted; <see cref="EtcdCompactedException.CompactRevision"/>
    /// is the oldest revision still available. The stream ends with it.
    /// </exception>
    /// <exception cref="EtcdPermissionDeniedException">The user may not read the range.</exception>
    public IAsyncEnumerable<WatchResponse> WatchAsync(KeyRange range, WatchOptions? options = null, CancellationToken cancellationToken = default);
}
