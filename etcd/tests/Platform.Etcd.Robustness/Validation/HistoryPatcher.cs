using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Validation;

/// <summary>
/// Settles unknown outcomes with a complete watch history before checking (etcd robustness patches
/// its histories the same way), which keeps the search small when faults leave many requests
/// unanswered: an unknown put, or transaction whose puts only sit in one branch, whose unique value
/// the watch delivered took effect at that event's revision (<see cref="Operation.AppliedRevision"/>);
/// one whose value never appeared, though the watch covers every revision, changed nothing and is
/// dropped. An unknown lease grant no other operation names is dropped (nothing can observe it).
/// Everything else stays unknown. Sound only with a watch that passed <see cref="WatchValidator"/>.
/// </summary>
public static class HistoryPatcher
{
    /// <param name="history">The history.</param>
    /// <param name="completeWatch">Every event of every revision from 2 to the final revision.</param>
    public static IReadOnlyList<Operation> Patch(IReadOnlyList<Operation> history, IReadOnlyList<WatchEventRecord> completeWatch)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(completeWatch);
        var revisionOfValue = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (WatchEventRecord e in completeWatch.Where(e => !e.IsDelete))
        {
            revisionOfValue.TryAdd(e.Value, e.Revision);
        }

        var namedLeases = history.Where(o => o.Request is not LeaseGrantOp).SelectMany(o => Leases(o.Request)).ToHashSet();
        var patched = new List<Operation>(history.Count);
        foreach (Operation op in history)
        {
            if (!op.IsUnknown)
            {
                patched.Add(op);
                continue;
            }

            switch (op.Request)
            {
                case LeaseGrantOp grant when !namedLeases.Contains(grant.Lease):
                    continue;
                case PutOp put:
                    if (revisionOfValue.TryGetValue(put.Value, out long revision))
                    {
                        patched.Add(op with { AppliedRevision = revision });
                    }

                    continue;
                case TxnOp txn when OnlyPutsInOneBranch(txn, out IReadOnlyList<PutOp> puts):
                    long? applied = puts.Select(p => revisionOfValue.TryGetValue(p.Value, out long r) ? r : (long?)null).FirstOrDefault(r => r is not null);
                    if (applied is long at)
                    {
                        patched.Add(op with { AppliedRevision = at });
                    }

                    continue;
                default:
                    patched.Add(op);
                    continue;
            }
        }

        return patched;
    }

    /// <summary>A transaction whose only writes are puts (deletes beside them are fine) in one branch, the other branch read-only.</summary>
    private static bool OnlyPutsInOneBranch(TxnOp txn, out IReadOnlyList<PutOp> puts)
    {
        bool thenWrites = txn.Then.Any(o => o.CanWrite);
        bool elseWrites = txn.Else.Any(o => o.CanWrite);
        IReadOnlyList<KvOp> branch = thenWrites ? txn.Then : txn.Else;
        puts = [.. branch.OfType<PutOp>()];
        return thenWrites != elseWrites && puts.Count > 0 && branch.All(o => o is PutOp or DeleteOp or RangeOp);
    }

    private static IEnumerable<long> Leases(KvOp op) => op switch
    {
        LeaseRevokeOp revoke => [revoke.Lease],
        PutOp { Lease: not 0 } put => [put.Lease],
        TxnOp txn => txn.Then.Concat(txn.Else).SelectMany(Leases),
        _ => [],
    };
}
