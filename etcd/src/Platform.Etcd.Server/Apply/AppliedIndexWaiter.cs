namespace Platform.Etcd.Server.Apply;

/// <summary>Lets readers wait until the applied index reaches a raft index (etcd's applyWait).</summary>
internal sealed class AppliedIndexWaiter
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<TaskCompletionSource, ulong> _waiting = new();
    private ulong _applied;

    public ulong Applied
    {
        get
        {
            lock (_lock)
            {
                return _applied;
            }
        }
    }

    /// <summary>Completes once the applied index is at least <paramref name="index"/>.</summary>
    public Task WaitAsync(ulong index)
    {
        lock (_lock)
        {
            if (index <= _applied)
            {
                return Task.CompletedTask;
            }

            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(tcs, index);
            return tcs.Task;
        }
    }

    public void Advance(ulong applied)
    {
        List<TaskCompletionSource>? ready = null;
        lock (_lock)
        {
            if (applied <= _applied)
            {
                return;
            }

            _applied = applied;
            while (_waiting.TryPeek(out TaskCompletionSource? tcs, out ulong index) && index <= applied)
            {
                _waiting.Dequeue();
                (ready ??= []).Add(tcs);
            }
        }

        ready?.ForEach(t => t.TrySetResult());
    }

    public void FailAll(Exception error)
    {
        lock (_lock)
        {
            while (_waiting.TryDequeue(out TaskCompletionSource? tcs, out _))
            {
                tcs.TrySetException(error);
            }
        }
    }
}
