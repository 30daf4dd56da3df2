namespace Platform.Etcd.Storage.Tests.Mvcc;

/// <summary>A clock whose timers fire only when the test says so (<see cref="FireTimers"/>).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];

    public int TimerCount
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => !t.Disposed);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    /// <summary>Runs every live timer's callback once, on the calling thread.</summary>
    public void FireTimers()
    {
        ManualTimer[] timers;
        lock (_lock)
        {
            timers = [.. _timers.Where(t => !t.Disposed)];
        }

        foreach (ManualTimer timer in timers)
        {
            timer.Fire();
        }
    }

    private sealed class ManualTimer(TimerCallback callback, object? state) : ITimer
    {
        public bool Disposed { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period) => !Disposed;

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
