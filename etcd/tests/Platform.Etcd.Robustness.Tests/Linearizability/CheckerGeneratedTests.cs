using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Tests.Linearizability;

/// <summary>
/// Histories generated from a sequential execution of the model: every operation gets a
/// linearization point, its call and return are drawn around it (so operations overlap at random),
/// and its response is what the model answered at that point. Such histories must be accepted,
/// also when some answers are made unknown and when some unknown writes never took effect.
/// Mutated copies (a read returning an older value of its key, two writes claiming one revision,
/// a value nobody wrote) must be rejected.
/// </summary>
public sealed class CheckerGeneratedTests
{
    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 40)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Check_SequentialExecutionWithRandomOverlaps_IsLinearizable(int seed)
    {
        IReadOnlyList<Operation> history = Generate(seed, count: 120, unknownPercent: 8, revisions: true);

        CheckResult result = LinearizabilityChecker.Check(history);

        Assert.True(result.IsLinearizable, result.Explanation);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Check_SingleKeyValuesOnly_IsLinearizableKeyByKey(int seed)
    {
        IReadOnlyList<Operation> history = Generate(seed, count: 150, unknownPercent: 8, revisions: false);

        CheckResult result = LinearizabilityChecker.Check(history, new CheckOptions { CheckRevisions = false });

        Assert.True(result.IsLinearizable, result.Explanation);
        Assert.True(result.Partitions > 1);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Check_ReadMutatedToAnOlderValue_IsRejected(int seed)
    {
        List<Operation> history = [.. Generate(seed, count: 120, unknownPercent: 0, revisions: true)];
        var random = new Random(seed);
        // A get that saw the second or later value of its key now claims the previous one.
        var lastValues = new Dictionary<string, List<KvItem>>(StringComparer.Ordinal);
        var candidates = new List<(int Index, KvItem Older)>();
        foreach ((Operation op, int index) in history.Select((o, i) => (o, i)).OrderBy(p => p.o.Response!.Revision).ThenBy(p => p.o.Request.CanWrite ? 0 : 1))
        {
            if (op.Request is RangeOp { Prefix: false } get && op.Response!.Reply is RangeReply { Kvs: [KvItem seen] })
            {
                List<KvItem> versions = lastValues.GetValueOrDefault(get.Key) ?? [];
                KvItem? older = versions.LastOrDefault(v => v.ModRevision < seen.ModRevision);
                if (older is not null)
                {
                    candidates.Add((index, older));
                }

                if (!versions.Contains(seen))
                {
                    versions.Add(seen);
                }

                lastValues[get.Key] = versions;
            }
        }

        Assert.NotEmpty(candidates);
        (int target, KvItem stale) = candidates[random.Next(candidates.Count)];
        Operation original = history[target];
        history[target] = original with { Response = original.Response! with { Reply = new RangeReply([stale]) } };

        CheckResult result = LinearizabilityChecker.Check(history);

        Assert.Equal(CheckOutcome.NotLinearizable, result.Outcome);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Check_TwoWritesMutatedToOneRevision_IsRejected(int seed)
    {
        List<Operation> history = [.. Generate(seed, count: 120, unknownPercent: 0, revisions: true)];
        var random = new Random(seed);
        List<int> puts = [.. history.Select((o, i) => (o, i)).Where(p => p.o.Request is PutOp).Select(p => p.i)];
        int a = puts[random.Next(puts.Count)];
        int b = puts.Where(i => i != a).ElementAt(random.Next(puts.Count - 1));
        history[b] = history[b] with { Response = history[b].Response! with { Revision = history[a].Response!.Revision } };

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(history).Outcome);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Check_ReadOfAValueNobodyWrote_IsRejected(int seed)
    {
        List<Operation> history = [.. Generate(seed, count: 150, unknownPercent: 8, revisions: false)];
        var random = new Random(seed);
        List<int> gets = [.. history.Select((o, i) => (o, i)).Where(p => p.o.Request is RangeOp && p.o.Response is not null).Select(p => p.i)];
        int target = gets[random.Next(gets.Count)];
        var get = (RangeOp)history[target].Request;
        history[target] = history[target] with { Response = new KvResponse(0, new RangeReply([new KvItem(get.Key, "nobody", 0, 0, 0, 0)])) };

        Assert.Equal(CheckOutcome.NotLinearizable, LinearizabilityChecker.Check(history, new CheckOptions { CheckRevisions = false }).Outcome);
    }

    /// <summary>
    /// Runs <paramref name="count"/> random operations through the model in order; operation i is
    /// linearized at time 10·i and spans a random interval around it. With <paramref name="revisions"/>
    /// false only single-key puts, gets, deletes and value compare-and-swaps are generated and
    /// responses carry no revisions.
    /// </summary>
    private static List<Operation> Generate(int seed, int count, int unknownPercent, bool revisions)
    {
        var random = new Random(seed);
        string[] keys = ["k/0", "k/1", "k/2", "k/3"];
        var table = new KeyTable(keys.Append("k/"));
        var model = new KvModel(table, checkRevisions: true);
        KvState state = model.Initial();
        var ops = new List<Operation>();
        var leases = new List<long>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string key = keys[random.Next(keys.Length)];
            string value = $"v{i}";
            int dice = random.Next(revisions ? 100 : 70);
            KvOp request = dice switch
            {
                < 30 => new RangeOp(key),
                < 55 => new PutOp(key, value),
                < 62 => new DeleteOp(key),
                < 70 => new TxnOp([new KvCompare(key, CompareTarget.Value, values.GetValueOrDefault(key))], [new PutOp(key, value)], [new RangeOp(key)]),
                < 76 => new RangeOp("k/", Prefix: true),
                < 82 => new TxnOp([new KvCompare(key, CompareTarget.ModRevision, Number: random.Next((int)state.Revision + 1))], [new PutOp(key, value), new DeleteOp(keys[(Array.IndexOf(keys, key) + 1) % keys.Length])], [new RangeOp(key)]),
                < 88 => new LeaseGrantOp(1000 + i),
                < 94 when leases.Count > 0 => new PutOp(key, value, leases[random.Next(leases.Count)]),
                < 97 when leases.Count > 0 => new LeaseRevokeOp(leases[random.Next(leases.Count)]),
                < 99 => new DeleteOp("k/", Prefix: true),
                _ => new RangeOp(key),
            };
            long point = 10L * (i + 1);
            long call = point - random.Next(40);
            long ret = point + random.Next(40);
            bool unknown = random.Next(100) < unknownPercent;
            if (unknown && request.CanWrite && random.Next(2) == 0)
            {
                // Sent, never applied: the client saw an error.
                ops.Add(new Operation(i + 1, random.Next(8), call, 0, request, null));
                continue;
            }

            (KvState next, KvResponse response) = model.Apply(state, request);
            if (response.Reply is ErrorReply)
            {
                continue;
            }

            state = next;
            switch (request)
            {
                case LeaseGrantOp g:
                    leases.Add(g.Lease);
                    break;
                case LeaseRevokeOp r:
                    leases.Remove(r.Lease);
                    break;
            }

            foreach (string k in keys)
            {
                KvEntry? entry = state.Entries[table.Slot(k)];
                if (entry is { } e)
                {
                    values[k] = e.Value;
                }
                else
                {
                    values.Remove(k);
                }
            }

            KvResponse observed = revisions ? response : response with { Revision = 0 };
            ops.Add(new Operation(i + 1, random.Next(8), call, ret, request, unknown ? null : observed));
        }

        return ops;
    }
}
