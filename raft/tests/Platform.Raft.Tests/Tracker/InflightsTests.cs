using Platform.Raft.Tracker;

namespace Platform.Raft.Tests.Tracker;

public class InflightsTests
{
    [Fact]
    public void Add_UpToCapacity_CountsBytesAndBecomesFull()
    {
        var inflights = new Inflights(10, 0);
        for (ulong i = 0; i < 5; i++)
        {
            inflights.Add(i, 100 + i);
        }

        Assert.Equal(5, inflights.Count);
        Assert.Equal(510UL, inflights.Bytes);
        Assert.False(inflights.Full);

        for (ulong i = 5; i < 10; i++)
        {
            inflights.Add(i, 100 + i);
        }

        Assert.Equal(10, inflights.Count);
        Assert.Equal(1045UL, inflights.Bytes);
        Assert.True(inflights.Full);
    }

    [Fact]
    public void Add_WhenFull_Throws()
    {
        var inflights = new Inflights(2, 0);
        inflights.Add(1, 1);
        inflights.Add(2, 1);

        Assert.Throws<InvalidOperationException>(() => inflights.Add(3, 1));
        Assert.Equal(2, inflights.Count);
    }

    [Fact]
    public void Add_AfterFreeing_WrapsAroundTheRing()
    {
        var inflights = new Inflights(10, 0);
        for (ulong i = 0; i < 10; i++)
        {
            inflights.Add(i, 1);
        }

        inflights.FreeLE(4); // 5..9 left, start at slot 5
        for (ulong i = 10; i < 15; i++)
        {
            inflights.Add(i, 1); // slots 0..4
        }

        Assert.True(inflights.Full);
        Assert.Equal(10, inflights.AllocatedSlots);

        inflights.FreeLE(12); // 13, 14 left, across the wrap
        Assert.Equal(2, inflights.Count);
        Assert.Equal(2UL, inflights.Bytes);

        inflights.FreeLE(13);
        Assert.Equal(1, inflights.Count);
        inflights.FreeLE(14);
        Assert.Equal(0, inflights.Count);
        Assert.Equal(0UL, inflights.Bytes);
    }

    [Fact]
    public void FreeLE_IndexBelowFirst_FreesNothing()
    {
        var inflights = new Inflights(10, 0);
        inflights.Add(5, 10);
        inflights.Add(7, 20);

        inflights.FreeLE(4);

        Assert.Equal(2, inflights.Count);
        Assert.Equal(30UL, inflights.Bytes);
    }

    [Fact]
    public void FreeLE_BetweenIndexes_FreesOnlyThoseAtOrBelow()
    {
        var inflights = new Inflights(10, 0);
        inflights.Add(5, 10);
        inflights.Add(7, 20);
        inflights.Add(9, 40);

        inflights.FreeLE(8);

        Assert.Equal(1, inflights.Count);
        Assert.Equal(40UL, inflights.Bytes);
    }

    [Fact]
    public void FreeLE_EverythingFreed_RestartsAtFirstSlotWithoutGrowing()
    {
        var inflights = new Inflights(8, 0);
        for (ulong i = 1; i <= 20; i++)
        {
            inflights.Add(i, 1);
            inflights.FreeLE(i);
        }

        Assert.Equal(1, inflights.AllocatedSlots);
    }

    [Fact]
    public void FreeLE_OnEmpty_DoesNothing()
    {
        var inflights = new Inflights(3, 0);

        inflights.FreeLE(100);

        Assert.Equal(0, inflights.Count);
        Assert.Equal(0, inflights.AllocatedSlots);
    }

    [Fact]
    public void Add_Growing_DoublesUpToCapacity()
    {
        var inflights = new Inflights(10, 0);
        var sizes = new List<int> { inflights.AllocatedSlots };
        for (ulong i = 0; i < 10; i++)
        {
            inflights.Add(i, 1);
            sizes.Add(inflights.AllocatedSlots);
        }

        Assert.Equal([0, 1, 2, 4, 4, 8, 8, 8, 8, 10, 10], sizes);
    }

    [Fact]
    public void Add_GrowingAfterStartMoved_KeepsOrder()
    {
        var inflights = new Inflights(8, 0);
        inflights.Add(1, 1);
        inflights.Add(2, 1); // 2 slots allocated
        inflights.FreeLE(1); // start at slot 1
        inflights.Add(3, 1); // slot 2: grows to 4
        inflights.Add(4, 1);
        inflights.Add(5, 1); // slot 4: grows to 8

        inflights.FreeLE(3);

        Assert.Equal(2, inflights.Count);
        inflights.FreeLE(4);
        Assert.Equal(1, inflights.Count);
        inflights.FreeLE(5);
        Assert.Equal(0, inflights.Count);
    }

    [Fact]
    public void Add_SteadyState_DoesNotAllocate()
    {
        var inflights = new Inflights(16, 0);
        for (ulong i = 0; i < 16; i++)
        {
            inflights.Add(i, 1);
        }

        inflights.FreeLE(15);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (ulong i = 16; i < 10_000; i++)
        {
            inflights.Add(i, 1);
            inflights.FreeLE(i - 8);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    // etcd's TestInflightsFull cases: entry i has 100+i bytes; add until full, free up to
    // freeLE, add until full again.
    [Theory]
    [InlineData(1, 0UL, 1, 1UL, 2)]
    [InlineData(1, 10UL, 1, 1UL, 2)] // a single entry above the byte limit is still accepted
    [InlineData(15, 0UL, 15, 6UL, 22)]
    [InlineData(8, 400UL, 4, 2UL, 7)] // slight overflow
    [InlineData(8, 406UL, 4, 3UL, 8)] // exactly the byte limit
    [InlineData(15, 408UL, 5, 1UL, 6)] // larger overflow
    public void Full_ByCountOrBytes_BlocksAtTheLimit(int capacity, ulong maxBytes, int fullAt, ulong freeLE, int againAt)
    {
        var inflights = new Inflights(capacity, maxBytes);
        void AddUntilFull(int begin, int end)
        {
            for (int i = begin; i < end; i++)
            {
                Assert.False(inflights.Full, $"full before adding {i}");
                inflights.Add((ulong)i, (ulong)(100 + i));
            }

            Assert.True(inflights.Full);
        }

        AddUntilFull(0, fullAt);
        inflights.FreeLE(freeLE);
        AddUntilFull(fullAt, againAt);
        Assert.Throws<InvalidOperationException>(() => inflights.Add((ulong)againAt, 100));
    }

    [Fact]
    public void Reset_ClearsCountsAndKeepsBuffer()
    {
        var inflights = new Inflights(4, 1000);
        inflights.Add(1, 10);
        inflights.Add(2, 20);
        inflights.Add(3, 30);

        inflights.Reset();

        Assert.Equal(0, inflights.Count);
        Assert.Equal(0UL, inflights.Bytes);
        Assert.False(inflights.Full);
        Assert.Equal(4, inflights.AllocatedSlots);
        inflights.Add(7, 1);
        inflights.FreeLE(7);
        Assert.Equal(0, inflights.Count);
    }

    [Fact]
    public void Clone_Mutated_LeavesOriginalAlone()
    {
        var inflights = new Inflights(4, 0);
        inflights.Add(1, 10);
        inflights.Add(2, 20);

        Inflights clone = inflights.Clone();
        clone.FreeLE(1);
        clone.Add(3, 30);
        clone.Add(4, 40);

        Assert.Equal(2, inflights.Count);
        Assert.Equal(30UL, inflights.Bytes);
        inflights.FreeLE(1);
        Assert.Equal(1, inflights.Count);
        Assert.Equal(20UL, inflights.Bytes);
        Assert.Equal(3, clone.Count);
        Assert.Equal(90UL, clone.Bytes);
    }

    [Fact]
    public void Constructor_ZeroCapacity_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Inflights(0, 0));
}
