using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Services;

/// <summary>What clientv3/concurrency's Mutex and Election do with KV and Watch, against the local server.</summary>
internal static class Concurrency
{
    /// <summary>The range of every key under <paramref name="prefix"/>, oldest creation first, one key.</summary>
    public static RangeRequest FirstCreated(ByteString prefix) => new()
    {
        Key = prefix,
        RangeEnd = PrefixEnd(prefix),
        SortTarget = RangeRequest.Types.SortTarget.Create,
        SortOrder = RangeRequest.Types.SortOrder.Ascend,
        Limit = 1,
    };

    /// <summary><paramref name="prefix"/> followed by the lease id in lowercase hex (concurrency's <c>%s%x</c>).</summary>
    public static ByteString LeaseKey(ByteString prefix, long lease) =>
        ByteString.CopyFrom([.. prefix.Span, .. System.Text.Encoding.ASCII.GetBytes(lease.ToString("x", System.Globalization.CultureInfo.InvariantCulture))]);

    /// <summary><paramref name="name"/> + "/".</summary>
    public static ByteString Prefix(ByteString name) => ByteString.CopyFrom([.. name.Span, (byte)'/']);

    // concurrency.waitDeletes: until no key under the prefix was created at or before maxCreateRevision.
    public static async Task<ResponseHeader> WaitDeletesAsync(IEtcdServer server, ByteString prefix, ByteString prefixEnd, long maxCreateRevision, RequestContext context, CancellationToken cancellationToken)
    {
        while (true)
        {
            var last = new RangeRequest
            {
                Key = prefix,
                RangeEnd = prefixEnd,
                SortTarget = RangeRequest.Types.SortTarget.Create,
                SortOrder = RangeRequest.Types.SortOrder.Descend,
                Limit = 1,
                MaxCreateRevision = maxCreateRevision,
            };
            RangeResponse response = await server.RangeAsync(last, context, cancellationToken).ConfigureAwait(false);
            if (response.Kvs.Count == 0)
            {
                return response.Header;
            }

            await WaitDeleteAsync(server, response.Kvs[0].Key, response.Header.Revision, context, cancellationToken).ConfigureAwait(false);
        }
    }

    public static async Task WaitDeleteAsync(IEtcdServer server, ByteString key, long revision, RequestContext context, CancellationToken cancellationToken)
    {
        IWatchStream stream = server.OpenWatchStream(context);
        await using (stream.ConfigureAwait(false))
        {
            await stream.HandleAsync(
                new WatchRequest { CreateRequest = new WatchCreateRequest { Key = key, StartRevision = revision, Filters = { WatchCreateRequest.Types.FilterType.Noput } } },
                cancellationToken).ConfigureAwait(false);
            await foreach (WatchResponse response in stream.Responses.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (response.Canceled)
                {
                    throw new EtcdException(EtcdErrorCode.Unknown, response.CancelReason.Length > 0 ? response.CancelReason : "lost watcher waiting for delete");
                }

                if (response.Events.Any(e => e.Type == Api.Mvcc.Event.Types.EventType.Delete))
                {
                    return;
                }
            }

            throw new EtcdException(EtcdErrorCode.Unknown, "lost watcher waiting for delete");
        }
    }

    // clientv3.GetPrefixRangeEnd: the prefix with its last byte below 0xff incremented; "\0" if none.
    public static ByteString PrefixEnd(ByteString prefix)
    {
        byte[] end = prefix.ToByteArray();
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0);
    }
}
