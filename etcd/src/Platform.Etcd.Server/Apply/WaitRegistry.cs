using System.Collections.Concurrent;

namespace Platform.Etcd.Server.Apply;

/// <summary>
/// Matches applied raft entries to the callers waiting for them by request id (etcd's wait.Wait).
/// Entries proposed by other members (or replayed) have no waiter and are ignored.
/// </summary>
internal sealed class WaitRegistry
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ApplyResult>> _waiters = new();

    public Task<ApplyResult> Register(ulong id)
    {
        var tcs = new TaskCompletionSource<ApplyResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiters.TryAdd(id, tcs))
        {
            throw new InvalidOperationException($"duplicate request id {id:x}");
        }

        return tcs.Task;
    }

    public void Trigger(ulong id, ApplyResult result)
    {
        if (_waiters.TryRemove(id, out TaskCompletionSource<ApplyResult>? tcs))
        {
            tcs.TrySetResult(result);
        }
    }

    public void Cancel(ulong id)
    {
        if (_waiters.TryRemove(id, out TaskCompletionSource<ApplyResult>? tcs))
        {
            tcs.TrySetCanceled();
        }
    }

    /// <summary>Fails every waiter (the server stops).</summary>
    public void FailAll(Exception error)
    {
        foreach (ulong id in _waiters.Keys)
        {
            if (_waiters.TryRemove(id, out TaskCompletionSource<ApplyResult>? tcs))
            {
                tcs.TrySetException(error);
            }
        }
    }
}

/// <summary>
/// What applying one entry produced: a response or an error, and for a physical compaction the
/// task of the background cleanup.
/// </summary>
internal sealed record ApplyResult(object? Response, Exception? Error, Task? Physical = null);
