using Grpc.Core;

namespace Platform.Etcd.Client.Internal;

/// <summary>
/// The background renewal loop of one lease: a LeaseKeepAlive stream kept open, one request every
/// TTL/3 (at least every 500 ms), as etcd's clientv3 does. The lease counts as lost when etcd answers
/// TTL 0, or when the last granted TTL ran out (client clock) without a renewal getting through.
/// </summary>
internal sealed class LeaseKeepAlive : ILeaseKeepAlive
{
    private static readonly TimeSpan s_minimumInterval = TimeSpan.FromMilliseconds(500);

    private readonly Connection _connection;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop;
    private readonly TaskCompletionSource<EtcdClientException> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private long _ttlSeconds;
    private long _renewals;
    private long _deadlineTimestamp;

    public LeaseKeepAlive(Connection connection, long leaseId, long ttlSeconds)
    {
        _connection = connection;
        _time = connection.Time;
        LeaseId = leaseId;
        _ttlSeconds = ttlSeconds;
        _renewals = 1;
        _deadlineTimestamp = Deadline(ttlSeconds);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(connection.Closing);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public long LeaseId { get; }

    public long TtlSeconds => Interlocked.Read(ref _ttlSeconds);

    public long Renewals => Interlocked.Read(ref _renewals);

    public Task<EtcdClientException> Lost => _lost.Task;

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        _lost.TrySetCanceled();
        _stop.Dispose();
    }

    private static TimeSpan Interval(long ttlSeconds)
    {
        TimeSpan third = TimeSpan.FromSeconds(ttlSeconds / 3.0);
        return third > s_minimumInterval ? third : s_minimumInterval;
    }

    private long Deadline(long ttlSeconds) => _time.GetTimestamp() + (ttlSeconds * _time.TimestampFrequency);

    private async Task RunAsync(CancellationToken stop)
    {
        AsyncDuplexStreamingCall<Api.LeaseKeepAliveRequest, Api.LeaseKeepAliveResponse>? call = null;
        string? streamToken = null;
        TimeSpan delay = Interval(TtlSeconds);
        int failures = 0;
        try
        {
            while (true)
            {
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
                Endpoint? endpoint = null;
                try
                {
                    if (call is null)
                    {
                        endpoint = _connection.PickEndpoint();
                        (CallOptions options, streamToken) = await _connection.StreamOptionsAsync(endpoint, stop).ConfigureAwait(false);
                        call = endpoint.Lease.LeaseKeepAlive(options.WithCancellationToken(stop));
                    }

                    await call.RequestStream.WriteAsync(new Api.LeaseKeepAliveRequest { ID = LeaseId }, stop).ConfigureAwait(false);
                    Api.LeaseKeepAliveResponse response = await ReadAsync(call, stop).ConfigureAwait(false);
                    if (response.TTL <= 0)
                    {
                        _lost.TrySetResult(new EtcdLeaseNotFoundException());
                        return;
                    }

                    Interlocked.Exchange(ref _ttlSeconds, response.TTL);
                    Interlocked.Exchange(ref _deadlineTimestamp, Deadline(response.TTL));
                    Interlocked.Increment(ref _renewals);
                    failures = 0;
                    delay = Interval(response.TTL);
                    continue;
                }
                catch (RpcException exception) when (!stop.IsCancellationRequested && (Errors.IsTransientStreamFailure(exception) || Errors.IsTokenProblem(exception)))
                {
                    if (Errors.IsTokenProblem(exception))
                    {
                        await _connection.InvalidateTokenAsync(streamToken, stop).ConfigureAwait(false);
                    }
                    else if (endpoint is not null && Errors.NeverReachedServer(exception))
                    {
                        _connection.MarkUnhealthy(endpoint);
                    }
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    // No answer in time: try another stream.
                }

                call?.Dispose();
                call = null;
                delay = Connection.Backoff(failures++);
                if (_time.GetTimestamp() >= Interlocked.Read(ref _deadlineTimestamp))
                {
                    _lost.TrySetResult(new EtcdLeaseNotFoundException(
                        $"lease {LeaseId:x} presumed expired: no keep-alive got through within its TTL of {TtlSeconds} s"));
                    return;
                }
            }
        }
        catch (Exception exception) when (stop.IsCancellationRequested && exception is OperationCanceledException or RpcException or InvalidOperationException)
        {
            // Disposed (or the client closed) mid-call: gRPC reports the cancelled read or write as an
            // RpcException (Cancelled), which is the handle's end, not a lost lease.
            _lost.TrySetCanceled(stop);
        }
        catch (RpcException exception)
        {
            _lost.TrySetResult(Errors.FromRpc(exception));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Whatever ended the loop ends the keep-alive; it is reported, not thrown on a pool thread.
            _lost.TrySetResult(new EtcdClientException(StatusCode.Unknown, exception.Message, exception));
        }
        finally
        {
            call?.Dispose();
        }
    }

    private async Task<Api.LeaseKeepAliveResponse> ReadAsync(
        AsyncDuplexStreamingCall<Api.LeaseKeepAliveRequest, Api.LeaseKeepAliveResponse> call,
        CancellationToken stop)
    {
        // Wait no longer than the lease has left (at least 1 s): past that the lease is gone anyway.
        long remainingTicks = Interlocked.Read(ref _deadlineTimestamp) - _time.GetTimestamp();
        TimeSpan remaining = TimeSpan.FromSeconds(Math.Max(1.0, (double)remainingTicks / _time.TimestampFrequency));
        using var timeout = new CancellationTokenSource(remaining, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        if (!await call.ResponseStream.MoveNext(linked.Token).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "keep-alive stream ended"));
        }

        return call.ResponseStream.Current;
    }
}
