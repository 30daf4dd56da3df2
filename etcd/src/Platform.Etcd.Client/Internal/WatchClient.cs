using System.Runtime.CompilerServices;

namespace Platform.Etcd.Client.Internal;

/// <summary>One gRPC Watch stream per <see cref="WatchAsync"/> enumeration (no multiplexing): simple, and etcd handles thousands of streams.</summary>
internal sealed class WatchClient(Connection connection) : IWatchClient
{
    public async IAsyncEnumerable<WatchResponse> WatchAsync(
        KeyRange range,
        WatchOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(range);
        await using var session = new WatchSession(connection, range, options ?? new WatchOptions());
        while (true)
        {
            yield return await session.NextAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
