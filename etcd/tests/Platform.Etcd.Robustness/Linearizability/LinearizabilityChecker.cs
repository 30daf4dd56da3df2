using System.Text;

namespace Platform.Etcd.Robustness.Linearizability;

public enum CheckOutcome
{
    /// <summary>A linearization exists.</summary>
    Linearizable,

    /// <summary>No linearization exists; <see cref="CheckResult.Explanation"/> says where the search got stuck.</summary>
    NotLinearizable,

    /// <summary>The step budget ran out before the search finished.</summary>
    Unknown,
}

/// <summary>How to check a history.</summary>
public sealed record CheckOptions
{
    /// <summary>
    /// Compare header revisions and mod/create revisions, versions and leases (etcd's full contract).
    /// False compares values and existence only; histories whose every operation touches one key are
    /// then checked key by key.
    /// </summary>
    public bool CheckRevisions { get; init; } = true;

    /// <summary>Upper bound of model steps over all partitions; beyond it the outcome is <see cref="CheckOutcome.Unknown"/>.</summary>
    public long MaxSteps { get; init; } = 20_000_000;

    /// <summary>
    /// When not linearizable and the history has at most this many operations, operations are
    /// removed one at a time while the rest stays non-linearizable, and the minimal history is
    /// printed (in revision mode only reads can go: writes fix every later revision).
    /// </summary>
    public int MinimizeUpTo { get; init; } = 200;

    /// <summary>
    /// Do not compare the header revision of lease grants and revokes (their effects still count).
    /// Only for looking past a known bug of that kind to find others; never in CI.
    /// </summary>
    public bool IgnoreLeaseHeaderRevisions { get; init; }

    /// <summary>Divides operation times for printing (e.g. <c>Stopwatch.Frequency / 1000.0</c> prints milliseconds).</summary>
    public double TicksPerMillisecond { get; init; } = 1;
}

/// <summary>The verdict on one history.</summary>
public sealed record CheckResult(CheckOutcome Outcome, long Steps, int Partitions, string Explanation)
{
    public bool IsLinearizable => Outcome == CheckOutcome.Linearizable;
}

/// <summary>
/// Wing–Gong linearizability checking with Lowe's memoization, as Porcupine does it: call and return
/// events sorted by time in a linked list; the search repeatedly takes the earliest pending call
/// whose operation the model accepts in the current state, lifts it out of the list and restarts;
/// meeting a return event means that operation had to be linearized already, so it backtracks.
/// Every (linearized set, state) pair is explored at most once. Operations with unknown outcomes
/// return at infinity: they can linearize anywhere after their call, and placing one last is the
/// same as it never happening. Unknown reads are dropped up front (they cannot change anything).
/// </summary>
public static class LinearizabilityChecker
{
    public static CheckResult Check(IReadOnlyList<Operation> history, CheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        options ??= new CheckOptions();
        Validate(history, options);
        List<Operation> ops = [.. history.Where(o => !(o.IsUnknown && !o.Request.CanWrite))];
        var keys = new KeyTable(ops.SelectMany(o => o.Request.Keys));
        var model = new KvModel(keys, options.CheckRevisions) { IgnoreLeaseHeaderRevisions = options.IgnoreLeaseHeaderRevisions };
        List<List<Operation>> partitions = Partition(ops, options);
        long steps = 0;
        foreach (List<Operation> partition in partitions)
        {
            var search = new Search(model, partition, options.MaxSteps - steps);
            SearchOutcome outcome = search.Run();
            steps += search.Steps;
            if (outcome == SearchOutcome.Unknown)
            {
                return new CheckResult(CheckOutcome.Unknown, steps, partitions.Count, $"step budget of {options.MaxSteps} exhausted after {steps} steps ({partition.Count} operations in the partition being checked)");
            }

            if (outcome == SearchOutcome.Illegal)
            {
                string explanation = search.Explain(options, partitions.Count > 1 ? $"key {partition[0].Request.Keys.First()}" : "all keys");
                List<Operation>? minimal = Minimize(partition, options);
                if (minimal is not null)
                {
                    explanation += $"\nminimal non-linearizable sub-history ({minimal.Count} of {partition.Count} operations):\n  "
                        + string.Join("\n  ", minimal.OrderBy(o => o.CallTime).Select(o => o.Describe(options.TicksPerMillisecond)));
                }

                return new CheckResult(CheckOutcome.NotLinearizable, steps, partitions.Count, explanation);
            }
        }

        return new CheckResult(CheckOutcome.Linearizable, steps, partitions.Count, $"linearizable: {ops.Count} operations, {partitions.Count} partition(s), {steps} steps");
    }

    private static void Validate(IReadOnlyList<Operation> history, CheckOptions options)
    {
        var ids = new HashSet<int>();
        foreach (Operation op in history)
        {
            if (!ids.Add(op.Id))
            {
                throw new ArgumentException($"operation id {op.Id} appears twice", nameof(history));
            }

            if (!op.IsUnknown && op.ReturnTime < op.CallTime)
            {
                throw new ArgumentException($"operation #{op.Id} returns ({op.ReturnTime}) before it is called ({op.CallTime})", nameof(history));
            }

            if (!options.CheckRevisions && op.Request is TxnOp txn && txn.Compares.Any(c => c.Target == CompareTarget.ModRevision))
            {
                throw new ArgumentException($"operation #{op.Id} compares a mod revision, which needs CheckRevisions", nameof(history));
            }
        }
    }

    /// <summary>Key by key when values are all that is compared and every operation touches exactly one key.</summary>
    private static List<List<Operation>> Partition(List<Operation> ops, CheckOptions options)
    {
        bool singleKey = !options.CheckRevisions && ops.All(o => !o.Request.SpansKeys && o.Request.Keys.Distinct().Count() == 1);
        if (!singleKey)
        {
            return [ops];
        }

        return [.. ops.GroupBy(o => o.Request.Keys.First(), StringComparer.Ordinal).Select(g => g.ToList())];
    }

    /// <summary>Drops removable operations one at a time while the rest stays non-linearizable.</summary>
    private static List<Operation>? Minimize(List<Operation> partition, CheckOptions options)
    {
        if (partition.Count > options.MinimizeUpTo)
        {
            return null;
        }

        var keys = new KeyTable(partition.SelectMany(o => o.Request.Keys));
        var model = new KvModel(keys, options.CheckRevisions) { IgnoreLeaseHeaderRevisions = options.IgnoreLeaseHeaderRevisions };
        List<Operation> current = [.. partition];
        for (int i = current.Count - 1; i >= 0; i--)
        {
            if (options.CheckRevisions && current[i].Request.CanWrite)
            {
                continue;
            }

            List<Operation> candidate = [.. current.Take(i), .. current.Skip(i + 1)];
            var search = new Search(model, candidate, 1_000_000);
            if (search.Run() == SearchOutcome.Illegal)
            {
                current = candidate;
            }
        }

        return current.Count < partition.Count ? current : null;
    }

    private enum SearchOutcome
    {
        Ok,
        Illegal,
        Unknown,
    }

    private sealed class Entry
    {
        public required Operation Op { get; init; }

        public required int Index { get; init; }

        public required bool IsCall { get; init; }

        public long Time { get; init; }

        public Entry? Match { get; set; }

        public Entry? Prev { get; set; }

        public Entry? Next { get; set; }
    }

    private sealed class Search
    {
        private readonly KvModel _model;
        private readonly List<Operation> _ops;
        private readonly long _maxSteps;
        private readonly Entry _sentinel = new() { Op = null!, Index = -1, IsCall = false };
        private int _deepest;
        private long _frontierTime = long.MinValue;
        private Operation? _frontierOp;
        private List<Operation> _frontier = [];
        private KvState? _frontierState;

        public Search(KvModel model, List<Operation> ops, long maxSteps)
        {
            _model = model;
            _ops = ops;
            _maxSteps = maxSteps;
        }

        public long Steps { get; private set; }

        public SearchOutcome Run()
        {
            // The list: sentinel head, then events by time; calls before returns at equal times
            // (touching operations count as concurrent, the permissive reading).
            var events = new List<Entry>(_ops.Count * 2);
            for (int i = 0; i < _ops.Count; i++)
            {
                Operation op = _ops[i];
                var call = new Entry { Op = op, Index = i, IsCall = true, Time = op.CallTime };
                var ret = new Entry { Op = op, Index = i, IsCall = false, Time = op.IsUnknown ? long.MaxValue : op.ReturnTime, Match = call };
                call.Match = ret;
                events.Add(call);
                events.Add(ret);
            }

            events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.IsCall != b.IsCall ? (a.IsCall ? -1 : 1) : a.Index.CompareTo(b.Index));
            Entry prev = _sentinel;
            foreach (Entry e in events)
            {
                prev.Next = e;
                e.Prev = prev;
                prev = e;
            }

            var linearized = new Bits(_ops.Count);
            var cache = new HashSet<(Bits, KvState)>();
            var stack = new Stack<(Entry Call, KvState Before)>();
            KvState state = _model.Initial();
            Entry? entry = _sentinel.Next;
            while (_sentinel.Next is not null)
            {
                if (++Steps > _maxSteps)
                {
                    return SearchOutcome.Unknown;
                }

                if (entry!.IsCall)
                {
                    (KvState next, KvResponse expected) = _model.Apply(state, entry.Op.Request);
                    bool accepted = entry.Op.Response is null
                        ? entry.Op.AppliedRevision == 0 || (expected.Reply is not ErrorReply && next.Revision == entry.Op.AppliedRevision)
                        : expected.Reply is not ErrorReply && _model.Matches(entry.Op.Request, expected, entry.Op.Response);
                    if (accepted)
                    {
                        Bits after = linearized.With(entry.Index);
                        if (cache.Add((after, next)))
                        {
                            linearized = after;
                            stack.Push((entry, state));
                            state = next;
                            Lift(entry);
                            _deepest = Math.Max(_deepest, stack.Count);

                            entry = _sentinel.Next;
                            continue;
                        }
                    }

                    entry = entry.Next;
                }
                else
                {
                    if (entry.Time > _frontierTime || _frontierOp is null)
                    {
                        // The furthest return the search has been stopped by so far: the operation
                        // that could not take effect in time, with the prefix that got there.
                        _frontierTime = entry.Time;
                        _frontierOp = entry.Op;
                        _frontier = [.. stack.Reverse().Select(s => s.Call.Op)];
                        _frontierState = state;
                    }

                    if (stack.Count == 0)
                    {
                        return SearchOutcome.Illegal;
                    }

                    (Entry call, KvState before) = stack.Pop();
                    state = before;
                    linearized = linearized.Without(call.Index);
                    Unlift(call);
                    entry = call.Next;
                }
            }

            return SearchOutcome.Ok;
        }

        public string Explain(CheckOptions options, string scope)
        {
            double t = options.TicksPerMillisecond;
            Operation stuck = _frontierOp!;
            var text = new StringBuilder();
            text.Append("not linearizable (").Append(scope).Append("): ").Append(stuck.Describe(t))
                .Append("\ncannot take effect before it returns, whatever the order of the operations before it")
                .Append(" (the search got ").Append(_frontier.Count).Append(" of ").Append(_ops.Count)
                .Append(" operations in that far; at most ").Append(_deepest).Append(" anywhere)");
            if (_frontier.Count > 0)
            {
                text.Append("\nthe last operations of that order:");
                foreach (Operation op in _frontier.TakeLast(8))
                {
                    text.Append("\n  ").Append(op.Describe(t));
                }
            }

            text.Append("\nmodel state after them: ").Append(_frontierState!.Describe(_model.Keys, _model.CheckRevisions));
            var done = _frontier.Select(o => o.Id).ToHashSet();
            List<Operation> pending = [.. _ops.Where(o => !done.Contains(o.Id) && o.CallTime <= _frontierTime).OrderBy(o => o.CallTime)];
            text.Append("\noperations called by then and not yet placed, with what the model answers for each in that state:");
            foreach (Operation op in pending.Take(12))
            {
                (_, KvResponse expected) = _model.Apply(_frontierState, op.Request);
                text.Append("\n  ").Append(op.Describe(t)).Append("\n      model answers: ").Append(expected);
                if (op.Response is not null && expected.Reply is not ErrorReply && _model.Matches(op.Request, expected, op.Response))
                {
                    text.Append(" (fits here; what must follow it does not)");
                }
            }

            if (pending.Count > 12)
            {
                text.Append("\n  ... ").Append(pending.Count - 12).Append(" more");
            }

            return text.ToString();
        }

        private static void Lift(Entry call)
        {
            call.Prev!.Next = call.Next;
            call.Next!.Prev = call.Prev;
            Entry ret = call.Match!;
            ret.Prev!.Next = ret.Next;
            if (ret.Next is not null)
            {
                ret.Next.Prev = ret.Prev;
            }
        }

        private static void Unlift(Entry call)
        {
            Entry ret = call.Match!;
            ret.Prev!.Next = ret;
            if (ret.Next is not null)
            {
                ret.Next.Prev = ret;
            }

            call.Prev!.Next = call;
            call.Next!.Prev = call;
        }
    }

    /// <summary>An immutable bit set with value equality (the linearized operations).</summary>
    private sealed class Bits : IEquatable<Bits>
    {
        private readonly ulong[] _words;
        private readonly int _hash;

        public Bits(int count)
            : this(new ulong[(count + 63) / 64])
        {
        }

        private Bits(ulong[] words)
        {
            _words = words;
            var hash = new HashCode();
            foreach (ulong w in words)
            {
                hash.Add(w);
            }

            _hash = hash.ToHashCode();
        }

        public Bits With(int index)
        {
            ulong[] words = (ulong[])_words.Clone();
            words[index >> 6] |= 1UL << (index & 63);
            return new Bits(words);
        }

        public Bits Without(int index)
        {
            ulong[] words = (ulong[])_words.Clone();
            words[index >> 6] &= ~(1UL << (index & 63));
            return new Bits(words);
        }

        public bool Equals(Bits? other) => other is not null && other._hash == _hash && _words.AsSpan().SequenceEqual(other._words);

        public override bool Equals(object? obj) => Equals(obj as Bits);

        public override int GetHashCode() => _hash;
    }
}
