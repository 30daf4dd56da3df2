using Platform.Raft.Quorum;

namespace Platform.Raft.Tests.Quorum;

public class MajorityConfigTests
{
    [Fact]
    public void Constructor_UnsortedWithDuplicates_SortedSet()
    {
        var cfg = new MajorityConfig([3, 1, 3, 2, 1]);

        Assert.Equal(3, cfg.Count);
        Assert.Equal([1UL, 2, 3], cfg.Sorted());
        Assert.Equal("(1 2 3)", cfg.ToString());
    }

    [Fact]
    public void AddRemove_Sequence_KeepsSortedSet()
    {
        var cfg = new MajorityConfig();

        Assert.True(cfg.Add(5));
        Assert.True(cfg.Add(2));
        Assert.False(cfg.Add(5));
        Assert.True(cfg.Add(9));
        Assert.True(cfg.Remove(5));
        Assert.False(cfg.Remove(5));

        Assert.Equal([2UL, 9], cfg);
        Assert.True(cfg.Contains(9));
        Assert.False(cfg.Contains(5));
    }

    [Fact]
    public void ToString_Empty_EmptyParentheses() => Assert.Equal("()", new MajorityConfig().ToString());

    [Fact]
    public void Sorted_ThenMutated_ReturnsASnapshot()
    {
        var cfg = new MajorityConfig([1, 2]);
        IReadOnlyList<ulong> sorted = cfg.Sorted();

        cfg.Add(3);

        Assert.Equal([1UL, 2], sorted);
    }

    [Fact]
    public void Clone_Mutated_LeavesOriginalAlone()
    {
        var cfg = new MajorityConfig([1, 2]);
        MajorityConfig clone = cfg.Clone();

        clone.Add(3);
        clone.Remove(1);

        Assert.Equal("(1 2)", cfg.ToString());
        Assert.Equal("(2 3)", clone.ToString());
    }

    [Fact]
    public void CommittedIndex_MoreVotersThanTheStackBuffer_StillCorrect()
    {
        var cfg = new MajorityConfig(Enumerable.Range(1, 41).Select(i => (ulong)i));
        var acked = Enumerable.Range(1, 41).ToDictionary(i => (ulong)i, i => (ulong)i * 10);

        // 21 of 41 voters acked ≥ 210 (ids 21..41).
        Assert.Equal(210UL, cfg.CommittedIndex(new MapAckedIndexer(acked)));
    }

    [Fact]
    public void JointConfig_ToString_IncomingThenOutgoing()
    {
        var joint = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([1, 2, 4]));

        Assert.Equal("(1 2 3)&&(1 2 4)", joint.ToString());
        Assert.True(joint.IsJoint);
        Assert.Equal("(1 2 3)", new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig()).ToString());
    }

    [Fact]
    public void JointConfig_Ids_UnionOfHalves()
    {
        var joint = new JointConfig(new MajorityConfig([1, 2, 3]), new MajorityConfig([1, 2, 4]));

        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, joint.Ids().Order());
        Assert.True(joint.Contains(4));
        Assert.False(joint.Contains(5));
    }
}
