using System.Collections.Concurrent;

namespace Platform.Etcd.Server.Apply;

/// <summary>
/// Matches applied raft entries to the callers waiting for them by request id (etcd's wait.Wait).
/// Entries proposed by other members (or replayed) have no waiter and are ignored. Each waiter has
/// a deadline that <see cref="ExpireDue"/> enforces from one periodic timer: a timer per request was
/// ~300 bytes of garbage per proposal and a trip through the runtime's timer queue lock.
/// </summary>
internal sealed class WaitRegistry
{
    private readonly ConcurrentDictionary<ulong, Waiter> _waiters = new();

    /// <summary>Registers a waiter that fails with <see cref="TimeoutException"/> once <paramref name="deadline"/> (a <see cref="TimeProvider"/> timestamp) has passed.</summary>
    public TaskCompletionSource<ApplyResult> Register(ulong id, long deadline)
    {
        var waiter = new Waiter(deadline);
        if (!_waiters.TryAdd(id, waiter))
        {
            throw new InvalidOperationException($"duplicate request id {id:x}");
        }

        return waiter;
    }

    public void Trigger(ulong id, ApplyResult result)
    {
        if (_waiters.TryRemove(id, out Waiter? waiter))
        {
            waiter.TrySetResult(result);
        }
    }

    public void Cancel(ulong id)
    {
        if (_waiters.TryRemove(id, out Waiter? waiter))
        {
            waiter.TrySetCanceled();
        }
    }

    /// <summary>Fails every waiter whose deadline is at or before <paramref name="now"/> with a <see cref="TimeoutException"/>.</summary>
    public void ExpireDue(long now)
    {
        foreach (KeyValuePair<ulong, Waiter> entry in _waiters)
        {
            if (entry.Value.Deadline <= now && _waiters.TryRemove(entry))
            {
                entry.Value.TrySetException(new TimeoutException());
            }
        }
    }

    /// <summary>Fails every waiter (the server stops).</summary>
    public void FailAll(Exception error)
    {
        foreach (ulong id in _waiters.Keys)
        {
            if (_waiters.TryRemove(id, out Waiter? waiter))
            {
                waiter.TrySetException(error);
            }
        }
    }

    private sealed class Waiter(long deadline) : TaskCompletionSource<ApplyResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Deadline { get; } = deadline;
    }
}

/// <summary>
/// What applying one entry produced: a response or an error, and for a physical compaction the
/// task of the background cleanup.
/// </summary>
internal sealed record ApplyResult(object? Response, Exception? Error, Task? Physical = null);
