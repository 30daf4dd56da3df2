using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Tests.Linearizability;

/// <summary>Hand-written histories with a known verdict. Times are abstract ticks.</summary>
public sealed class CheckerClassicTests
{
    private static readonly CheckOptions s_values = new() { CheckRevisions = false };

    [Fact]
    public void Check_SequentialPutThenGet_IsLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Get(1, 20, 30, "x", "1", modRev: 2, rev: 2);

        Assert.True(LinearizabilityChecker.Check(h.Ops).IsLinearizable);
    }

    [Fact]
    public void Check_ReadAfterCompletedPutMissesIt_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1");
        h.Get(1, 20, 30, "x", null);

        CheckResult result = LinearizabilityChecker.Check(h.Ops, s_values);

        Assert.Equal(CheckOutcome.NotLinearizable, result.Outcome);
        Assert.Contains("get x", result.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1")]
    [InlineData(null)]
    public void Check_ReadConcurrentWithPut_SeesOldOrNew(string? seen)
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 30, "x", "1");
        h.Get(1, 10, 20, "x", seen);

        Assert.True(LinearizabilityChecker.Check(h.Ops, s_values).IsLinearizable);
    }

    [Fact]
    public void Check_NewThenOldInversion_IsNotLinearizable()
    {
        // Both reads overlap the put, but the second starts after the first saw the new value.
        var h = new HistoryBuilder();
        h.Put(0, 0, 100, "x", "1");
        h.Get(1, 10, 20, "x", "1");
        h.Get(2, 30, 40, "x", null);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops, s_values).Outcome);
    }

    [Fact]
    public void Check_UnknownPut_MayHappenOrNot()
    {
        var seenLater = new HistoryBuilder();
        seenLater.Unknown(0, 0, new PutOp("x", "1"));
        seenLater.Get(1, 50, 60, "x", "1");
        var neverSeen = new HistoryBuilder();
        neverSeen.Unknown(0, 0, new PutOp("x", "1"));
        neverSeen.Get(1, 50, 60, "x", null);

        Assert.True(LinearizabilityChecker.Check(seenLater.Ops, s_values).IsLinearizable);
        Assert.True(LinearizabilityChecker.Check(neverSeen.Ops, s_values).IsLinearizable);
    }

    [Fact]
    public void Check_UnknownPutSeenThenUnseen_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Unknown(0, 0, new PutOp("x", "1"));
        h.Get(1, 50, 60, "x", "1");
        h.Get(1, 70, 80, "x", null);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops, s_values).Outcome);
    }

    [Fact]
    public void Check_UnknownPutBeforeItsCall_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Get(1, 0, 10, "x", "1");
        h.Unknown(0, 20, new PutOp("x", "1"));

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops, s_values).Outcome);
    }

    [Fact]
    public void Check_TwoCompareAndSwapsOnTheSameValueBothSucceed_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "a");
        h.Cas(1, 20, 40, "x", expect: "a", set: "b", succeeded: true);
        h.Cas(2, 20, 40, "x", expect: "a", set: "c", succeeded: true);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops, s_values).Outcome);
    }

    [Fact]
    public void Check_ConcurrentCompareAndSwapsOneWins_IsLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "a");
        h.Cas(1, 20, 40, "x", expect: "a", set: "b", succeeded: true);
        h.Cas(2, 20, 40, "x", expect: "a", set: "c", succeeded: false, current: "b");

        Assert.True(LinearizabilityChecker.Check(h.Ops, s_values).IsLinearizable);
    }

    [Fact]
    public void Check_SingleKeyValueHistory_IsPartitionedByKey()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1");
        h.Put(1, 0, 10, "y", "2");
        h.Get(2, 20, 30, "x", "1");
        h.Get(2, 40, 50, "y", "2");

        CheckResult result = LinearizabilityChecker.Check(h.Ops, s_values);

        Assert.True(result.IsLinearizable);
        Assert.Equal(2, result.Partitions);
    }

    [Fact]
    public void Check_RevisionMode_IsOnePartition()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Put(1, 20, 30, "y", "2", rev: 3);

        CheckResult result = LinearizabilityChecker.Check(h.Ops);

        Assert.True(result.IsLinearizable);
        Assert.Equal(1, result.Partitions);
    }

    [Fact]
    public void Check_TwoWritesClaimOneRevision_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Put(1, 0, 10, "y", "2", rev: 2);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops).Outcome);
    }

    [Fact]
    public void Check_ReadHeaderRevisionAheadOfEveryWrite_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Get(1, 20, 30, "x", "1", modRev: 2, rev: 3);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops).Outcome);
    }

    [Fact]
    public void Check_UnknownWriteFillsARevisionGap_IsLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Unknown(1, 12, new PutOp("y", "2"));
        h.Put(0, 20, 30, "x", "3", rev: 4);
        h.Get(2, 40, 50, "y", "2", modRev: 3, rev: 4);

        Assert.True(LinearizabilityChecker.Check(h.Ops).IsLinearizable);
    }

    [Fact]
    public void Check_RevisionGapWithoutAnyWriteToFillIt_IsNotLinearizable()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Put(0, 20, 30, "x", "3", rev: 4);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops).Outcome);
    }

    [Fact]
    public void Check_LeaseRevokeDeletesAttachedKeys()
    {
        var ok = new HistoryBuilder();
        ok.Add(0, 0, 10, new LeaseGrantOp(7), 1, LeaseReply.Instance);
        ok.Add(0, 20, 30, new PutOp("x", "1", Lease: 7), 2, PutReply.Instance);
        ok.Add(0, 40, 50, new LeaseRevokeOp(7), 3, LeaseReply.Instance);
        ok.Get(1, 60, 70, "x", null, rev: 3);
        var stale = new HistoryBuilder();
        stale.Add(0, 0, 10, new LeaseGrantOp(7), 1, LeaseReply.Instance);
        stale.Add(0, 20, 30, new PutOp("x", "1", Lease: 7), 2, PutReply.Instance);
        stale.Add(0, 40, 50, new LeaseRevokeOp(7), 3, LeaseReply.Instance);
        stale.Add(1, 60, 70, new RangeOp("x"), 3, new RangeReply([new KvItem("x", "1", 2, 2, 1, 7)]));

        Assert.True(LinearizabilityChecker.Check(ok.Ops).IsLinearizable);
        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(stale.Ops).Outcome);
    }

    [Fact]
    public void Check_LeaseRevokeHeaderAfterALaterWrite_IsNotLinearizable()
    {
        // Our etcd's first bug: the revoke's header carried the revision of a put applied after it.
        var h = new HistoryBuilder();
        h.Add(0, 0, 10, new LeaseGrantOp(7), 1, LeaseReply.Instance);
        h.Add(0, 20, 30, new PutOp("x", "1", Lease: 7), 2, PutReply.Instance);
        h.Add(0, 40, 60, new LeaseRevokeOp(7), 4, LeaseReply.Instance);
        h.Put(1, 40, 60, "y", "2", rev: 4);

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(h.Ops).Outcome);
        Assert.True(LinearizabilityChecker.Check(h.Ops, new CheckOptions { IgnoreLeaseHeaderRevisions = true }).IsLinearizable);
    }

    [Fact]
    public void Check_ModRevisionCompareAndPrefixOps()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "k/a", "1", rev: 2);
        h.Add(0, 20, 30, new TxnOp([new KvCompare("k/a", CompareTarget.ModRevision, Number: 2)], [new PutOp("k/b", "2")], []), 3, new TxnReply(true, [PutReply.Instance]));
        h.Add(1, 40, 50, new RangeOp("k/", Prefix: true), 3, new RangeReply([new KvItem("k/a", "1", 2, 2, 1, 0), new KvItem("k/b", "2", 3, 3, 1, 0)]));
        h.Add(1, 60, 70, new DeleteOp("k/", Prefix: true), 4, new DeleteReply(2));
        h.Add(1, 80, 90, new RangeOp("k/", Prefix: true), 4, new RangeReply([]));

        Assert.True(LinearizabilityChecker.Check(h.Ops).IsLinearizable);
    }

    [Fact]
    public void Check_PutInsideTxnIsVisibleToALaterRangeInIt()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Add(0, 20, 30, new TxnOp([], [new PutOp("x", "2"), new RangeOp("x")], []), 3, new TxnReply(true, [PutReply.Instance, new RangeReply([new KvItem("x", "2", 3, 2, 2, 0)])]));

        Assert.True(LinearizabilityChecker.Check(h.Ops).IsLinearizable);
    }

    [Fact]
    public void Check_NotLinearizable_ExplainsAndMinimizes()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "x", "1", rev: 2);
        h.Get(1, 12, 14, "y", null, rev: 2);
        h.Get(2, 15, 16, "y", null, rev: 2);
        h.Get(1, 20, 30, "x", null, rev: 2);

        CheckResult result = LinearizabilityChecker.Check(h.Ops, new CheckOptions { MinimizeUpTo = 50 });

        Assert.Equal(CheckOutcome.NotLinearizable, result.Outcome);
        Assert.StartsWith("not linearizable (all keys): #4 c1 [20, 30] get x -> rev 2 []\ncannot take effect before it returns", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("model state after them: rev 2; x=1@2", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("model answers: rev 2 [x=1@2]", result.Explanation, StringComparison.Ordinal);
        // The two reads of y are irrelevant and minimised away; the put and the stale read remain.
        Assert.Contains("minimal non-linearizable sub-history (2 of 4 operations)", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_TinyStepBudget_IsUnknown()
    {
        var h = new HistoryBuilder();
        for (int i = 0; i < 20; i++)
        {
            h.Put(i, 0, 100, "x", $"v{i}");
        }

        h.Get(99, 200, 210, "x", "v3");
        CheckResult result = LinearizabilityChecker.Check(h.Ops, s_values with { MaxSteps = 5 });

        Assert.Equal(CheckOutcome.Unknown, result.Outcome);
    }

    [Fact]
    public void Check_BadHistory_IsRefusedClearly()
    {
        var h = new HistoryBuilder();
        h.Put(0, 10, 5, "x", "1");
        var compareRevision = new HistoryBuilder();
        compareRevision.Add(0, 0, 1, new TxnOp([new KvCompare("x", CompareTarget.ModRevision, Number: 1)], [], []), 0, new TxnReply(false, []));

        ArgumentException backwards = Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check(h.Ops));
        ArgumentException needsRevisions = Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check(compareRevision.Ops, s_values));

        Assert.Contains("returns (5) before it is called (10)", backwards.Message, StringComparison.Ordinal);
        Assert.Contains("needs CheckRevisions", needsRevisions.Message, StringComparison.Ordinal);
    }
}
