using System.Buffers.Binary;
using Google.Protobuf;

namespace Platform.Etcd.Server.Raft;

/// <summary>
/// Shares one raft ReadIndex among all linearizable reads that arrive while none is in flight
/// (etcd's linearizableReadLoop): readers join the next batch; the loop issues one request per
/// batch and completes it with the read index.
/// </summary>
internal sealed class ReadIndexBatcher
{
    private readonly Lock _lock = new();
    private TaskCompletionSource<ulong>? _next;
    private TaskCompletionSource<ulong>? _inFlight;
    private ulong _inFlightContext;
    private long _inFlightSinceTicks;
    private ulong _contextCounter;

    /// <summary>Joins the next batch; returns its task and whether the loop must be woken to issue it.</summary>
    public (Task<ulong> Task, bool Wake) Join()
    {
        lock (_lock)
        {
            bool wake = _next is null;
            _next ??= new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
            return (_next.Task, wake);
        }
    }

    /// <summary>Loop thread: the context to send with ReadIndex, when a batch is waiting and none is in flight.</summary>
    public ByteString? TryIssue(long nowTicks)
    {
        lock (_lock)
        {
            if (_inFlight is not null || _next is null)
            {
                return null;
            }

            _inFlight = _next;
            _next = null;
            _inFlightContext = ++_contextCounter;
            _inFlightSinceTicks = nowTicks;
            return Encode(_inFlightContext);
        }
    }

    /// <summary>Loop thread: a request in flight longer than <paramref name="retryAfterTicks"/> is reissued with a new context (the leader may have changed).</summary>
    public ByteString? RetryIfStale(long nowTicks, long retryAfterTicks)
    {
        lock (_lock)
        {
            if (_inFlight is null || nowTicks - _inFlightSinceTicks < retryAfterTicks)
            {
                return null;
            }

            _inFlightContext = ++_contextCounter;
            _inFlightSinceTicks = nowTicks;
            return Encode(_inFlightContext);
        }
    }

    /// <summary>Loop thread: a ReadState arrived; completes the batch in flight if it is its answer.</summary>
    public bool Complete(ByteString context, ulong index)
    {
        TaskCompletionSource<ulong>? done = null;
        lock (_lock)
        {
            if (_inFlight is not null && context.Length == 8 && BinaryPrimitives.ReadUInt64BigEndian(context.Span) == _inFlightContext)
            {
                done = _inFlight;
                _inFlight = null;
            }
        }

        done?.TrySetResult(index);
        return done is not null;
    }

    public void FailAll(Exception error)
    {
        lock (_lock)
        {
            _inFlight?.TrySetException(error);
            _next?.TrySetException(error);
            _inFlight = _next = null;
        }
    }

    private static ByteString Encode(ulong context)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, context);
        return ByteString.CopyFrom(bytes);
    }
}
