using Platform.Etcd.Robustness.Linearizability;
using Platform.Etcd.Robustness.Tests.Linearizability;
using Platform.Etcd.Robustness.Validation;

namespace Platform.Etcd.Robustness.Tests.Validation;

public sealed class ValidatorTests
{
    [Fact]
    public void Validate_CleanHistory_HasNoProblems()
    {
        HistoryBuilder h = Clean();

        Assert.Empty(HistoryValidator.Validate(h.Ops));
    }

    [Fact]
    public void Validate_TwoWritesOneRevision_IsReported()
    {
        HistoryBuilder h = Clean();
        h.Put(2, 50, 60, "k/b", "c2.1", rev: 3);

        Assert.Contains(HistoryValidator.Validate(h.Ops), p => p.StartsWith("revision 3 was created twice", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ClientRevisionGoingBack_IsReported()
    {
        HistoryBuilder h = Clean();
        h.Get(1, 50, 60, "k/a", "c0.1", modRev: 2, rev: 2);

        Assert.Contains(HistoryValidator.Validate(h.Ops), p => p.StartsWith("client 1 saw the revision go back from 4", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ReadOfUnwrittenValueOrWrongRevision_IsReported()
    {
        HistoryBuilder h = Clean();
        h.Get(3, 50, 60, "k/a", "ghost", modRev: 2, rev: 3);
        h.Get(3, 70, 80, "k/b", "c1.1", modRev: 2, rev: 3);

        IReadOnlyList<string> problems = HistoryValidator.Validate(h.Ops);

        Assert.Contains(problems, p => p.Contains("k/a=ghost@2 was never written by any put", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("k/b=c1.1@2 but its put", StringComparison.Ordinal) && p.Contains("created revision 3", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_CompleteWatch_HasNoProblemsAndReplaysTheStore()
    {
        HistoryBuilder h = Clean();
        var watch = new WatchRecord("w", "k/", 1, [Put(2, "k/a", "c0.1", 2, 1), Put(3, "k/b", "c1.1", 3, 1), Delete(4, "k/a")]);

        IReadOnlyList<string> problems = WatchValidator.Validate(watch, h.Ops, 4, everyRevisionTouchesPrefix: true, out IReadOnlyDictionary<string, KvItem>? replayed);

        Assert.Empty(problems);
        Assert.Equal(["k/b"], replayed!.Keys);
        Assert.Equal("c1.1", replayed["k/b"].Value);
    }

    [Fact]
    public void Validate_WatchWithGapDuplicateAndDisorder_IsReported()
    {
        HistoryBuilder h = Clean();
        var gap = new WatchRecord("gap", "k/", 1, [Put(2, "k/a", "c0.1", 2, 1), Delete(4, "k/a")]);
        var duplicate = new WatchRecord("dup", "k/", 1, [Put(2, "k/a", "c0.1", 2, 1), Put(2, "k/a", "c0.1", 2, 1), Put(3, "k/b", "c1.1", 3, 1), Delete(4, "k/a")]);
        var disorder = new WatchRecord("order", "k/", 1, [Put(3, "k/b", "c1.1", 3, 1), Put(2, "k/a", "c0.1", 2, 1), Delete(4, "k/a")]);

        IReadOnlyList<string> gapProblems = WatchValidator.Validate(gap, h.Ops, 4, true, out _);
        IReadOnlyList<string> duplicateProblems = WatchValidator.Validate(duplicate, h.Ops, 4, true, out _);
        IReadOnlyList<string> orderProblems = WatchValidator.Validate(disorder, h.Ops, 4, true, out _);

        Assert.Contains(gapProblems, p => p.Contains("no event for revision 3, written by", StringComparison.Ordinal));
        Assert.Contains(gapProblems, p => p.Contains("gap, no event for revision 3", StringComparison.Ordinal));
        Assert.Contains(duplicateProblems, p => p.Contains("duplicate event 2: put k/a=c0.1", StringComparison.Ordinal));
        Assert.Contains(orderProblems, p => p.Contains("event 2: put k/a=c0.1 (create 2, version 1) comes after revision 3", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WatchEventDisagreeingWithTheWrite_IsReported()
    {
        HistoryBuilder h = Clean();
        var wrong = new WatchRecord("wrong", "k/", 1, [Put(2, "k/a", "c0.1", 2, 1), Put(3, "k/b", "c0.1", 3, 1), Delete(4, "k/a")]);

        IReadOnlyList<string> problems = WatchValidator.Validate(wrong, h.Ops, 4, true, out _);

        Assert.Contains(problems, p => p.Contains("revision 3 delivered [put k/b=c0.1]", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("carries a value no put wrote to that key", StringComparison.Ordinal));
    }

    /// <summary>c0 puts k/a at 2, c1 puts k/b at 3, c0 deletes k/a at 4, c1 reads k/b.</summary>
    private static HistoryBuilder Clean()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "k/a", "c0.1", rev: 2);
        h.Put(1, 20, 30, "k/b", "c1.1", rev: 3);
        h.Add(0, 35, 40, new DeleteOp("k/a"), 4, new DeleteReply(1));
        h.Get(1, 41, 45, "k/b", "c1.1", modRev: 3, rev: 4);
        return h;
    }

    private static WatchEventRecord Put(long revision, string key, string value, long create, long version) => new(revision, false, key, value, create, version);

    private static WatchEventRecord Delete(long revision, string key) => new(revision, true, key, "", 0, 0);
}

public sealed class HistoryPatcherTests
{
    [Fact]
    public void Patch_SettlesUnknownWritesFromTheWatch()
    {
        var h = new HistoryBuilder();
        h.Put(0, 0, 10, "k/a", "c0.1", rev: 2);
        h.Unknown(1, 5, new PutOp("k/b", "c1.1"));
        h.Unknown(1, 6, new PutOp("k/b", "c1.2"));
        h.Unknown(2, 7, new TxnOp([new KvCompare("k/a", CompareTarget.Value, "c0.1")], [new PutOp("k/c", "c2.1")], [new RangeOp("k/a")]));
        h.Unknown(2, 8, new LeaseGrantOp(9));
        h.Unknown(2, 9, new LeaseGrantOp(10));
        h.Add(3, 20, 30, new PutOp("k/d", "c3.1", Lease: 10), 0, PutReply.Instance);
        h.Unknown(3, 31, new DeleteOp("k/a"));
        WatchEventRecord[] watch = [new(2, false, "k/a", "c0.1", 2, 1), new(3, false, "k/b", "c1.1", 3, 1), new(4, false, "k/c", "c2.1", 4, 1)];

        IReadOnlyList<Operation> patched = HistoryPatcher.Patch(h.Ops, watch);

        Assert.Equal(3, patched.Single(o => o.Request is PutOp { Value: "c1.1" }).AppliedRevision);
        Assert.DoesNotContain(patched, o => o.Request is PutOp { Value: "c1.2" });
        Assert.Equal(4, patched.Single(o => o.Request is TxnOp).AppliedRevision);
        Assert.DoesNotContain(patched, o => o.Request is LeaseGrantOp { Lease: 9 });
        Assert.Contains(patched, o => o.Request is LeaseGrantOp { Lease: 10 });
        Assert.Contains(patched, o => o.Request is DeleteOp && o.IsUnknown && o.AppliedRevision == 0);
    }

    [Fact]
    public void Check_PinnedUnknownWrite_MustTakeItsRevision()
    {
        var h = new HistoryBuilder();
        h.Unknown(1, 0, new PutOp("k/b", "c1.1"));
        h.Put(0, 0, 10, "k/a", "c0.1", rev: 3);
        h.Get(2, 20, 30, "k/b", null, rev: 3);
        Operation[] pinnedAt2 = [h.Ops[0] with { AppliedRevision = 2 }, .. h.Ops.Skip(1)];
        Operation[] pinnedAt4 = [h.Ops[0] with { AppliedRevision = 4 }, .. h.Ops.Skip(1)];

        // At 2 the get of k/b at revision 3 should have seen it; at 4 the put of k/a at 3 leaves a gap at 2.
        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(pinnedAt2).Outcome);
        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(pinnedAt4).Outcome);
    }
}
