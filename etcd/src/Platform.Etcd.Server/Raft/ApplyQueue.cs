using System.Runtime.ExceptionServices;
using Platform.Raft;

namespace Platform.Etcd.Server.Raft;

/// <summary>
/// The apply thread (etcd's applyc and apply goroutine): the raft loop hands it each Ready's
/// committed entries and goes on to the WAL write and the next Ready; batches are applied one at a
/// time, in hand-over order. The loop waits for it (<see cref="WaitIdle"/>) only before work that
/// needs everything handed over applied: a conf change, a snapshot (saving or installing one).
/// </summary>
/// <remarks>
/// One monitor guards the queue; its only waiters are the apply thread (for work) and the raft
/// loop (for idleness), never both at once for the same condition, so a wake-up is never lost.
/// A failed apply stops the thread; the fault callback tells the loop, and every later
/// <see cref="Enqueue"/> or <see cref="WaitIdle"/> rethrows the failure.
/// </remarks>
internal sealed class ApplyQueue
{
    // Back-pressure: a loop this many batches ahead of the apply thread waits at the next hand-over
    // (raft already treats handed-over entries as applied, so nothing else would bound the queue).
    private const int MaxQueuedBatches = 64;

    private readonly object _gate = new();
    private readonly Queue<Entry[]> _queue = new();
    private readonly Action<Entry[]> _apply;
    private readonly Action<Exception> _onFault;
    private readonly Thread _thread;

    // Handed over and not yet applied: the batch being applied stays at the head until it is done.
    private bool _completed;
    private ExceptionDispatchInfo? _fault;

    public ApplyQueue(string threadName, Action<Entry[]> apply, Action<Exception> onFault)
    {
        _apply = apply;
        _onFault = onFault;
        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
        _thread.Start();
    }

    /// <summary>Hands a batch of committed entries (the caller's copy: the queue keeps it) to the apply thread.</summary>
    public void Enqueue(Entry[] entries)
    {
        lock (_gate)
        {
            while (_queue.Count >= MaxQueuedBatches && _fault is null)
            {
                Monitor.Wait(_gate);
            }

            _fault?.Throw();
            if (_completed)
            {
                throw new InvalidOperationException("the apply queue is completed");
            }

            _queue.Enqueue(entries);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Blocks until every batch handed over is applied (rethrows an apply failure).</summary>
    public void WaitIdle()
    {
        lock (_gate)
        {
            while (_queue.Count > 0 && _fault is null)
            {
                Monitor.Wait(_gate);
            }

            _fault?.Throw();
        }
    }

    /// <summary>Lets the thread apply what is queued, then stop; waits for it.</summary>
    public void CompleteAndJoin()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }

        _thread.Join();
    }

    private void Run()
    {
        while (true)
        {
            Entry[] batch;
            lock (_gate)
            {
                while (_queue.Count == 0)
                {
                    if (_completed)
                    {
                        return;
                    }

                    Monitor.Wait(_gate);
                }

                batch = _queue.Peek();
            }

            try
            {
                _apply(batch);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _fault = ExceptionDispatchInfo.Capture(e);
                    _queue.Clear();
                    Monitor.PulseAll(_gate);
                }

                _onFault(e);
                return;
            }

            lock (_gate)
            {
                _queue.Dequeue();
                Monitor.PulseAll(_gate);
            }
        }
    }
}
