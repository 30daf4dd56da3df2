using Microsoft.Extensions.Time.Testing;
using Platform.Rkt.Images.Native;
using Platform.Testing;

namespace Platform.Rkt.Pods.Tests;

public sealed class PodStoreTests
{
    [Theory]
    [InlineData("embryo", false, "embryo")]
    [InlineData("prepare", true, "preparing")]
    [InlineData("prepare", false, "aborted prepare")]
    [InlineData("prepared", false, "prepared")]
    [InlineData("run", true, "running")]
    [InlineData("run", false, "exited")]
    [InlineData("exited-garbage", true, "exited deleting")]
    [InlineData("exited-garbage", false, "exited garbage")]
    [InlineData("garbage", true, "deleting")]
    [InlineData("garbage", false, "garbage")]
    public void StateOf_DirectoryAndLock_IsRktsString(string directory, bool locked, string expected) =>
        Assert.Equal(expected, PodStates.Of(directory, locked));

    [Fact]
    public void CreatePreparing_LockedUntilDisposed_ThenAbortedPrepare()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(CreatePreparing_LockedUntilDisposed_ThenAbortedPrepare));
        var store = new PodStore(dir.Path);
        (string uuid, FileLock podLock) = store.CreatePreparing();
        Assert.Equal(PodStates.Preparing, store.Find(uuid).State);
        podLock.Dispose();
        Assert.Equal(PodStates.AbortedPrepare, store.Find(uuid[..8]).State);
    }

    [Fact]
    public void Move_UnderLock_ChangesStateAtomically()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Move_UnderLock_ChangesStateAtomically));
        var store = new PodStore(dir.Path);
        (string uuid, FileLock podLock) = store.CreatePreparing();
        using (podLock)
        {
            store.Move(uuid, "prepare", "run");
            Assert.Equal(PodStates.Running, store.Find(uuid).State); // the flock follows the renamed directory
        }

        Assert.Equal(PodStates.Exited, store.Find(uuid).State);
    }

    [Fact]
    public void Find_NoneOrAmbiguous_Throws()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Find_NoneOrAmbiguous_Throws));
        var store = new PodStore(dir.Path);
        Assert.Contains("no matches", Assert.Throws<PodException>(() => store.Find("abc")).Message, StringComparison.Ordinal);
        for (int i = 0; i < 20; i++)
        {
            store.CreatePreparing().Lock.Dispose();
        }

        // 20 random UUIDs: some one-hex-digit prefix is shared by at least two of them.
        string shared = store.List().GroupBy(p => p.Uuid[..1]).First(g => g.Count() > 1).Key;
        Assert.Contains("ambiguous", Assert.Throws<PodException>(() => store.Find(shared)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gc_MarksExitedAndSweepsAfterGracePeriod()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Gc_MarksExitedAndSweepsAfterGracePeriod));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = new PodStore(dir.Path);
        (string exited, FileLock a) = store.CreatePreparing();
        using (a)
        {
            store.Move(exited, "prepare", "run");
        }

        (string running, FileLock runningLock) = store.CreatePreparing();
        using (runningLock)
        {
            store.Move(running, "prepare", "run");
            (string aborted, FileLock b) = store.CreatePreparing();
            b.Dispose();
            var ops = new PodOperations(store, networking: null, time);
            var log = new List<string>();

            GcReport first = await ops.CollectAsync(TimeSpan.FromMinutes(30), TimeSpan.FromHours(24), markOnly: false, log.Add, CancellationToken.None);
            Assert.Equal(new[] { exited, aborted }.Order(), first.Marked.Order());
            Assert.Empty(first.Removed);
            Assert.Equal(PodStates.ExitedGarbage, store.Find(exited).State);
            Assert.Equal(PodStates.Running, store.Find(running).State);

            time.Advance(TimeSpan.FromMinutes(31));
            GcReport second = await ops.CollectAsync(TimeSpan.FromMinutes(30), TimeSpan.FromHours(24), markOnly: false, log.Add, CancellationToken.None);
            Assert.Equal(new[] { exited, aborted }.Order(), second.Removed.Order());
            Assert.Equal([running], store.List().Select(p => p.Uuid));
            Assert.Contains($"Garbage collecting pod \"{exited}\"", log);
        }
    }

    [Fact]
    public async Task Remove_RunningPod_IsRefused()
    {
        using TestDirectory dir = TestDirectory.Create(nameof(Remove_RunningPod_IsRefused));
        var store = new PodStore(dir.Path);
        (string uuid, FileLock podLock) = store.CreatePreparing();
        using (podLock)
        {
            store.Move(uuid, "prepare", "run");
            var ops = new PodOperations(store, null, TimeProvider.System);
            PodException e = await Assert.ThrowsAsync<PodException>(() => ops.RemoveAsync(store.Find(uuid), CancellationToken.None));
            Assert.Contains("running", e.Message, StringComparison.Ordinal);
        }
    }
}
