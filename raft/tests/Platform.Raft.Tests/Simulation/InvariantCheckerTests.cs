using Google.Protobuf;
using Platform.Raft.Simulation;

namespace Platform.Raft.Tests.Simulation;

/// <summary>The simulator's checker must reject each kind of violation it claims to detect.</summary>
public class InvariantCheckerTests
{
    [Fact]
    public void OnDurableAppend_SameIndexAndTermWithOtherContent_Throws()
    {
        var checker = new InvariantChecker();
        var a = new SimulatedNode(1);
        var b = new SimulatedNode(2);
        checker.OnDurableAppend(a, [Entry(1, 1, "x")]);

        var ex = Assert.Throws<SimulationFailureException>(() => checker.OnDurableAppend(b, [Entry(1, 1, "y")]));

        Assert.Contains("log matching", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnDurableAppend_SameEntryAfterDifferentPredecessorTerm_Throws()
    {
        var checker = new InvariantChecker();
        var a = new SimulatedNode(1);
        var b = new SimulatedNode(2);
        a.Disk.Append([Entry(1, 1, "p")]);
        b.Disk.Append([Entry(1, 2, "q")]);
        checker.OnDurableAppend(a, [Entry(2, 3, "z")]);

        var ex = Assert.Throws<SimulationFailureException>(() => checker.OnDurableAppend(b, [Entry(2, 3, "z")]));

        Assert.Contains("after term 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnApply_DifferentEntryAtAppliedIndex_Throws()
    {
        var checker = new InvariantChecker();
        var a = Started(1);
        var b = Started(2);
        checker.OnApply(a, Entry(2, 1, "x"));

        var ex = Assert.Throws<SimulationFailureException>(() => checker.OnApply(b, Entry(2, 2, "x")));

        Assert.Contains("state-machine safety", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2UL, checker.KnownAppliedIndex);
    }

    [Fact]
    public void CheckConverged_DifferentStateAtSameIndex_Throws()
    {
        var a = new SimulatedNode(1);
        var b = new SimulatedNode(2);
        a.StateMachine.Apply(Entry(1, 1, "x"));
        b.StateMachine.Apply(Entry(1, 1, "y"));

        Assert.Throws<SimulationFailureException>(() => InvariantChecker.CheckConverged([a, b]));
    }

    [Fact]
    public void StateMachine_Gap_Throws()
    {
        var sm = new SimulatedNode(1).StateMachine;

        Assert.Throws<SimulationFailureException>(() => sm.Apply(Entry(2, 1, "x")));
    }

    private static SimulatedNode Started(ulong id)
    {
        var node = new SimulatedNode(id);
        var cs = new ConfState();
        cs.Voters.Add(id);
        node.Disk.ApplySnapshot(new Snapshot { Metadata = new SnapshotMetadata { Index = 1, Term = 1, ConfState = cs } });
        node.RecoverStateMachine();
        node.Start(new RaftConfig { Id = id, ElectionTicks = 10, HeartbeatTicks = 1, Storage = node.Disk, Applied = 1 });
        return node;
    }

    private static Entry Entry(ulong index, ulong term, string data) =>
        new() { Index = index, Term = term, Data = ByteString.CopyFromUtf8(data) };
}
