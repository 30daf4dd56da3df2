namespace Platform.Etcd.Client;

/// <summary>String (UTF-8) conveniences over the byte-array API; same contracts as the methods they call.</summary>
public static class EtcdClientExtensions
{
    public static Task<RangeResult> GetAsync(this IKvClient kv, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kv);
        return kv.GetAsync(KeyRange.Utf8(key), cancellationToken);
    }

    public static Task<RangeResult> GetPrefixAsync(this IKvClient kv, string prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kv);
        return kv.GetPrefixAsync(KeyRange.Utf8(prefix), cancellationToken);
    }

    public static Task<PutResult> PutAsync(this IKvClient kv, string key, string value, long lease = 0, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kv);
        return kv.PutAsync(KeyRange.Utf8(key), KeyRange.Utf8(value), lease, prevKv, cancellationToken);
    }

    /// <summary>Deletes the single key <paramref name="key"/>.</summary>
    public static Task<DeleteResult> DeleteAsync(this IKvClient kv, string key, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kv);
        return kv.DeleteAsync(KeyRange.Single(key), prevKv, cancellationToken);
    }

    /// <summary>Deletes every key starting with <paramref name="prefix"/>.</summary>
    public static Task<DeleteResult> DeletePrefixAsync(this IKvClient kv, string prefix, bool prevKv = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kv);
        return kv.DeleteAsync(KeyRange.Prefix(prefix), prevKv, cancellationToken);
    }

    /// <summary>Watches the single key <paramref name="key"/>.</summary>
    public static IAsyncEnumerable<WatchResponse> WatchAsync(this IWatchClient watch, string key, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(watch);
        return watch.WatchAsync(KeyRange.Single(key), options, cancellationToken);
    }

    /// <summary>Watches every key starting with <paramref name="prefix"/>.</summary>
    public static IAsyncEnumerable<WatchResponse> WatchPrefixAsync(this IWatchClient watch, string prefix, WatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(watch);
        return watch.WatchAsync(KeyRange.Prefix(prefix), options, cancellationToken);
    }
}
