using Google.Protobuf;
using Grpc.Core;

namespace Platform.Etcd.Client.Internal;

/// <summary>
/// One logical watch across any number of gRPC streams. Invariant: <see cref="_nextRevision"/> is
/// the first revision not yet delivered (0 until the first stream is created "from now"); every
/// new stream starts there, which is what makes resumption gap- and duplicate-free: etcd sends all
/// events of one revision in one response (or in fragments we join before delivering).
/// </summary>
internal sealed class WatchSession(Connection connection, KeyRange range, WatchOptions options) : IAsyncDisposable
{
    private readonly List<WatchEvent> _fragments = [];
    private AsyncDuplexStreamingCall<Api.WatchRequest, Api.WatchResponse>? _call;
    private long _nextRevision = options.StartRevision;
    private int _failures;
    private bool _reauthenticated;
    private string? _streamToken;

    public async Task<WatchResponse> NextAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connection.Closing);
        CancellationToken token = linked.Token;
        while (true)
        {
            Api.WatchResponse? response = null;
            Exception? failure = null;
            Endpoint? endpoint = null;
            try
            {
                if (_call is null)
                {
                    endpoint = connection.PickEndpoint();
                    (CallOptions callOptions, _streamToken) = await connection.StreamOptionsAsync(endpoint, token).ConfigureAwait(false);
                    _call = endpoint.Watch.Watch(callOptions.WithCancellationToken(connection.Closing));
                    await _call.RequestStream.WriteAsync(CreateRequest(), token).ConfigureAwait(false);
                }

                if (await _call.ResponseStream.MoveNext(token).ConfigureAwait(false))
                {
                    response = _call.ResponseStream.Current;
                }
                else
                {
                    failure = new EtcdClientException(StatusCode.Unavailable, "watch stream ended");
                }
            }
            catch (RpcException exception) when (!token.IsCancellationRequested)
            {
                if (connection.CanReauthenticate && Errors.IsTokenProblem(exception) && !_reauthenticated)
                {
                    _reauthenticated = true;
                    await connection.InvalidateTokenAsync(_streamToken, token).ConfigureAwait(false);
                    failure = exception;
                }
                else if (Errors.IsTransientStreamFailure(exception))
                {
                    if (endpoint is not null && Errors.NeverReachedServer(exception))
                    {
                        connection.MarkUnhealthy(endpoint);
                    }

                    failure = exception;
                }
                else
                {
                    throw Errors.FromRpc(exception);
                }
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException && !token.IsCancellationRequested)
            {
                // A stream reset by the peer or a dropped connection can surface as a cancellation
                // (Grpc.Net.Client maps RST_STREAM(CANCEL) to Cancelled) although nobody cancelled.
                failure = exception;
            }

            if (failure is not null)
            {
                await ResetAsync().ConfigureAwait(false);
                await Task.Delay(Connection.Backoff(_failures++), connection.Time, token).ConfigureAwait(false);
                continue;
            }

            WatchResponse? batch = await HandleAsync(response!, token).ConfigureAwait(false);
            if (batch is not null)
            {
                return batch;
            }
        }
    }

    public async ValueTask DisposeAsync() => await ResetAsync().ConfigureAwait(false);

    private async Task<WatchResponse?> HandleAsync(Api.WatchResponse response, CancellationToken token)
    {
        if (response.CompactRevision != 0)
        {
            await ResetAsync().ConfigureAwait(false);
            throw new EtcdCompactedException(response.CompactRevision);
        }

        if (response.Canceled)
        {
            await ResetAsync().ConfigureAwait(false);
            // etcd 3.4 puts the whole gRPC error text in the reason ("rpc error: code = ... desc = etcdserver: ...").
            string reason = response.CancelReason;
            int desc = reason.IndexOf("desc = ", StringComparison.Ordinal);
            reason = desc >= 0 ? reason[(desc + "desc = ".Length)..] : reason;
            // etcd 3.4 reports a stale or missing token on a watch as permission denied: re-authenticate once.
            if (connection.CanReauthenticate && !_reauthenticated
                && reason is EtcdInvalidAuthTokenException.Text or Errors.UserEmpty or EtcdPermissionDeniedException.Text)
            {
                _reauthenticated = true;
                await connection.InvalidateTokenAsync(_streamToken, token).ConfigureAwait(false);
                return null;
            }

            throw Errors.FromStatus(StatusCode.Unknown, reason.Length > 0 ? reason : "watch canceled by the server");
        }

        if (response.Created)
        {
            _failures = 0;
            _reauthenticated = false;
            if (_nextRevision == 0)
            {
                // Registered "from now": the header revision is what the watcher has seen.
                _nextRevision = response.Header.Revision + 1;
            }

            return null;
        }

        foreach (Api.Mvcc.Event e in response.Events)
        {
            _fragments.Add(Proto.Event(e));
        }

        if (response.Fragment)
        {
            return null;
        }

        WatchEvent[] events = [.. _fragments];
        _fragments.Clear();
        var header = Proto.Header(response.Header);
        if (events.Length > 0)
        {
            _nextRevision = events[^1].Kv.ModRevision + 1;
        }
        else
        {
            // Progress notification: everything up to the header revision has been sent.
            _nextRevision = Math.Max(_nextRevision, header.Revision + 1);
        }

        return new WatchResponse(header, events);
    }

    private Api.WatchRequest CreateRequest()
    {
        var create = new Api.WatchCreateRequest
        {
            Key = ByteString.CopyFrom(range.Key),
            RangeEnd = ByteString.CopyFrom(range.RangeEnd),
            StartRevision = _nextRevision,
            PrevKv = options.PrevKv,
            ProgressNotify = options.ProgressNotify,
            Fragment = true,
        };
        if (options.NoPut)
        {
            create.Filters.Add(Api.WatchCreateRequest.Types.FilterType.Noput);
        }

        if (options.NoDelete)
        {
            create.Filters.Add(Api.WatchCreateRequest.Types.FilterType.Nodelete);
        }

        return new Api.WatchRequest { CreateRequest = create };
    }

    private Task ResetAsync()
    {
        _fragments.Clear();
        AsyncDuplexStreamingCall<Api.WatchRequest, Api.WatchResponse>? call = _call;
        _call = null;
        // Disposing cancels the HTTP/2 stream (RST_STREAM), which makes etcd drop the watcher.
        call?.Dispose();
        return Task.CompletedTask;
    }
}
