using System.Runtime.ExceptionServices;
using Google.Protobuf;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Auth;
using Platform.Etcd.Server.Metrics;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Server.Raft;
using Platform.Raft;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    internal AuthStore Auth => _auth;

    /// <summary>
    /// Proposes <paramref name="request"/> through raft and waits for its apply result (etcd's
    /// processInternalRaftRequestOnce). Fails with "etcdserver: request timed out" after the
    /// request timeout; apply errors are rethrown as they are.
    /// </summary>
    private async ValueTask<ApplyResult> ProposeAsync(InternalRaftRequest request, RequestContext? context, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        ulong id = _ids.Next();
        request.Header ??= new RequestHeader();
        request.Header.ID = id;
        if (context is not null)
        {
            (string user, ulong revision) = _auth.Identify(context);
            request.Header.Username = user;
            request.Header.AuthRevision = revision;
        }

        ByteString data = request.ToByteString();
        if (data.Length > _options.MaxRequestBytes)
        {
            throw EtcdErrors.RequestTooLarge;
        }

        TaskCompletionSource<ApplyResult> wait = _waits.Register(id, RequestDeadline());
        Post(new ProposeInput(data, id));
        return await WaitAppliedAsync(id, wait, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<ApplyResult> ProposeConfChangeAsync(ConfChange change, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        change.Id = _ids.Next();
        TaskCompletionSource<ApplyResult> wait = _waits.Register(change.Id, RequestDeadline());
        Post(new ConfChangeInput(change, change.Id));
        return await WaitAppliedAsync(change.Id, wait, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The timestamp at which a proposal made now times out (enforced by <see cref="WaitRegistry.ExpireDue"/> on every tick).</summary>
    private long RequestDeadline() =>
        _time.GetTimestamp() + (long)(_options.EffectiveRequestTimeout.TotalSeconds * _time.TimestampFrequency);

    private async ValueTask<ApplyResult> WaitAppliedAsync(ulong id, TaskCompletionSource<ApplyResult> wait, CancellationToken cancellationToken)
    {
        ApplyResult result;
        CancellationTokenRegistration cancelled = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((TaskCompletionSource<ApplyResult>)state!).TrySetCanceled(), wait)
            : default;
        try
        {
            result = await wait.Task.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _waits.Cancel(id);
            ServerMetrics.ProposalsFailed.Inc();

            // etcd's parseProposeCtxErr: a leader change during the wait is the likely cause.
            long changed = Volatile.Read(ref _leaderChangedAt);
            throw changed != 0 && _time.GetElapsedTime(changed) < _options.EffectiveRequestTimeout + _options.ElectionTimeout
                ? EtcdErrors.TimeoutDueToLeaderFail
                : EtcdErrors.Timeout;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _waits.Cancel(id);
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            await cancelled.DisposeAsync().ConfigureAwait(false);
        }

        if (result.Error is not null)
        {
            ExceptionDispatchInfo.Throw(result.Error);
        }

        return result;
    }

    /// <summary>Waits until this member has applied everything committed when the call started, as of a raft ReadIndex (etcd's linearizableReadNotify).</summary>
    private async ValueTask LinearizableReadAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        (Task<ulong> batch, bool wake) = _readBatcher.Join();
        if (wake)
        {
            Post(ReadIndexInput.Instance);
        }

        try
        {
            ulong index = await batch.WaitAsync(_options.EffectiveRequestTimeout, _time, cancellationToken).ConfigureAwait(false);
            await _appliedWaiter.WaitAsync(index).WaitAsync(_options.EffectiveRequestTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw EtcdErrors.Timeout;
        }
    }

    private void ThrowIfUnavailable()
    {
        ThrowIfStopped();
        if (_removedReason is not null && _loopStopped.Task.IsCompleted)
        {
            throw EtcdErrors.Stopped;
        }

        if (_loopFault is not null)
        {
            throw new EtcdException("etcdserver: raft loop failed: " + _loopFault.Message, _loopFault);
        }
    }
}
