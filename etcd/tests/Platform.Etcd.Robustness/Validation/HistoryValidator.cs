using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Validation;

/// <summary>
/// Checks on a history that use etcd's revisions directly (etcd robustness's "validate" step),
/// cheaper than linearizability and with plainer messages: every write that changed the store has
/// its own revision; each client sees revisions that never go back (clients are sequential and
/// reads are linearizable); every key-value a read returns was written by a put of that key with
/// that value, at that mod revision when the put's answer is known, never above the read's header
/// revision. Needs unique put values (the workload's contract); a repeated value is reported.
/// </summary>
public static class HistoryValidator
{
    public static IReadOnlyList<string> Validate(IReadOnlyList<Operation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var problems = new List<string>();
        var puts = new Dictionary<string, Operation>(StringComparer.Ordinal);
        foreach (Operation op in history)
        {
            foreach (PutOp put in Puts(op.Request))
            {
                if (!puts.TryAdd(put.Value, op) && puts[put.Value].Id != op.Id)
                {
                    problems.Add($"workload error: value {put.Value} is written by #{puts[put.Value].Id} and #{op.Id}");
                }
            }
        }

        var writers = new Dictionary<long, Operation>();
        foreach (Operation op in history.Where(o => o.Response is not null))
        {
            if (ChangedStore(op.Request, op.Response!.Reply) && op.Response.Revision != 0)
            {
                if (writers.TryGetValue(op.Response.Revision, out Operation? other))
                {
                    problems.Add($"revision {op.Response.Revision} was created twice: by {other} and by {op}");
                }
                else
                {
                    writers[op.Response.Revision] = op;
                }
            }
        }

        foreach (IGrouping<int, Operation> client in history.GroupBy(o => o.ClientId))
        {
            Operation? last = null;
            foreach (Operation op in client.Where(o => o.Response is { Revision: > 0 }).OrderBy(o => o.CallTime))
            {
                if (last is not null && op.Response!.Revision < last.Response!.Revision)
                {
                    problems.Add($"client {client.Key} saw the revision go back from {last.Response.Revision} ({last}) to {op.Response.Revision} ({op})");
                }

                last = op;
            }
        }

        foreach (Operation op in history.Where(o => o.Response is not null))
        {
            foreach (RangeReply range in Ranges(op.Response!.Reply))
            {
                foreach (KvItem kv in range.Kvs)
                {
                    if (op.Response.Revision != 0 && kv.ModRevision > op.Response.Revision)
                    {
                        problems.Add($"{op}: {kv} has a mod revision above the response's revision {op.Response.Revision}");
                    }

                    if (kv.CreateRevision > kv.ModRevision || kv.Version < 1)
                    {
                        problems.Add($"{op}: {kv} has create revision {kv.CreateRevision} and version {kv.Version}");
                    }

                    if (!puts.TryGetValue(kv.Value, out Operation? writer))
                    {
                        problems.Add($"{op}: {kv} was never written by any put");
                        continue;
                    }

                    if (!Puts(writer.Request).Any(p => string.Equals(p.Key, kv.Key, StringComparison.Ordinal) && string.Equals(p.Value, kv.Value, StringComparison.Ordinal)))
                    {
                        problems.Add($"{op}: {kv} carries a value that {writer} wrote to another key");
                    }
                    else if (writer.Response is { Revision: > 0 } written && written.Reply is not ErrorReply && WroteValue(writer, kv) && written.Revision != kv.ModRevision)
                    {
                        problems.Add($"{op}: {kv} but its put {writer} created revision {written.Revision}");
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>Every put a request may perform (transaction branches included).</summary>
    public static IEnumerable<PutOp> Puts(KvOp op) => op switch
    {
        PutOp put => [put],
        TxnOp txn => txn.Then.Concat(txn.Else).SelectMany(Puts),
        _ => [],
    };

    /// <summary>Whether an answered request certainly created a revision.</summary>
    public static bool ChangedStore(KvOp op, KvReply reply) => (op, reply) switch
    {
        (PutOp, PutReply) => true,
        (DeleteOp, DeleteReply d) => d.Deleted > 0,
        (TxnOp txn, TxnReply r) => (r.Succeeded ? txn.Then : txn.Else).Zip(r.Results).Any(p => ChangedStore(p.First, p.Second)),
        _ => false,
    };

    private static IEnumerable<RangeReply> Ranges(KvReply reply) => reply switch
    {
        RangeReply r => [r],
        TxnReply t => t.Results.SelectMany(Ranges),
        _ => [],
    };

    /// <summary>Whether the put of <paramref name="kv"/>'s value in <paramref name="writer"/> ran (for a txn: in the branch taken).</summary>
    private static bool WroteValue(Operation writer, KvItem kv) => (writer.Request, writer.Response!.Reply) switch
    {
        (PutOp, PutReply) => true,
        (TxnOp txn, TxnReply r) => (r.Succeeded ? txn.Then : txn.Else).OfType<PutOp>().Any(p => string.Equals(p.Value, kv.Value, StringComparison.Ordinal)),
        _ => false,
    };
}
