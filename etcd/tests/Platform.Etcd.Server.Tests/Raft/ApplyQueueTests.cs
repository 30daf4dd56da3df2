using Platform.Etcd.Server.Raft;
using Platform.Raft;

namespace Platform.Etcd.Server.Tests.Raft;

public sealed class ApplyQueueTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private static Entry[] Batch(ulong from, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Entry { Index = from + (ulong)i, Term = 1 })];

    [Fact]
    public void Enqueue_ManyBatches_AppliesEveryEntryOnceInHandOverOrder_AndWaitIdleSeesThemAll()
    {
        var applied = new List<ulong>();
        int applyThread = 0;
        var queue = new ApplyQueue("apply-test", batch =>
        {
            applyThread = Environment.CurrentManagedThreadId;
            foreach (Entry e in batch)
            {
                applied.Add(e.Index);
            }
        }, _ => { });

        ulong next = 1;
        for (int i = 0; i < 500; i++)
        {
            int count = (i % 7) + 1;
            queue.Enqueue(Batch(next, count));
            next += (ulong)count;
        }

        queue.WaitIdle();

        // WaitIdle returned, so the apply thread's writes are visible here without a lock.
        Assert.Equal(Enumerable.Range(1, (int)next - 1).Select(i => (ulong)i), applied);
        Assert.NotEqual(Environment.CurrentManagedThreadId, applyThread);
        queue.CompleteAndJoin();
    }

    [Fact]
    public async Task CompleteAndJoin_BatchesStillQueued_AreAppliedBeforeItReturns()
    {
        using var gate = new ManualResetEventSlim();
        var applied = new List<ulong>();
        var queue = new ApplyQueue("apply-test", batch =>
        {
            gate.Wait(s_deadline);
            applied.Add(batch[0].Index);
        }, _ => { });
        queue.Enqueue(Batch(1, 1));
        queue.Enqueue(Batch(2, 1));
        queue.Enqueue(Batch(3, 1));

        Task join = Task.Run(queue.CompleteAndJoin);
        gate.Set();
        await join.WaitAsync(s_deadline);

        Assert.Equal([1UL, 2UL, 3UL], applied);
        Assert.Throws<InvalidOperationException>(() => queue.Enqueue(Batch(4, 1)));
    }

    [Fact]
    public async Task ApplyFails_FaultIsReported_AndWaitIdleAndEnqueueRethrowIt()
    {
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var applied = new List<ulong>();
        var queue = new ApplyQueue("apply-test", batch =>
        {
            if (batch[0].Index == 2)
            {
                throw new IOException("disk gone");
            }

            applied.Add(batch[0].Index);
        }, e => reported.TrySetResult(e));
        queue.Enqueue(Batch(1, 1));
        queue.Enqueue(Batch(2, 1));

        Exception fault = await reported.Task.WaitAsync(s_deadline);

        Assert.Equal("disk gone", fault.Message);
        Assert.Equal("disk gone", Assert.Throws<IOException>(queue.WaitIdle).Message);
        Assert.Equal("disk gone", Assert.Throws<IOException>(() => queue.Enqueue(Batch(3, 1))).Message);

        // Nothing after the failed batch is applied.
        Assert.Equal([1UL], applied);
        queue.CompleteAndJoin();
    }
}
