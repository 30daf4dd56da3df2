using Platform.Etcd.Robustness.Linearizability;

namespace Platform.Etcd.Robustness.Validation;

/// <summary>One watch event as delivered: <see cref="Revision"/> is the event's mod revision.</summary>
public sealed record WatchEventRecord(long Revision, bool IsDelete, string Key, string Value, long CreateRevision, long Version)
{
    public override string ToString() => IsDelete ? $"{Revision}: delete {Key}" : $"{Revision}: put {Key}={Value} (create {CreateRevision}, version {Version})";
}

/// <summary>Everything one watch stream on a prefix delivered, from <see cref="StartRevision"/> on.</summary>
public sealed record WatchRecord(string Name, string Prefix, long StartRevision, IReadOnlyList<WatchEventRecord> Events);

/// <summary>
/// Checks a watch stream against itself and against the KV history: events are ordered by
/// revision with no key twice in one revision, none before the start revision or outside the
/// prefix; every revision of the history's answered writes in the covered window appears with
/// exactly that write's changes (and, when every revision of the store touches the prefix, every
/// revision appears: no gaps); each put event's value was written to that key by some put; replayed
/// from the start (when the watch began at the first revision), create revisions and versions follow
/// etcd's rules and the result is the store's content at the last revision.
/// </summary>
public static class WatchValidator
{
    /// <param name="watch">The stream.</param>
    /// <param name="history">The KV history (answered and unknown operations).</param>
    /// <param name="upToRevision">The revision the stream is known to have caught up to.</param>
    /// <param name="everyRevisionTouchesPrefix">Every revision of the store changed a key under the prefix, so none may be missing.</param>
    /// <param name="replayed">The key-values under the prefix after replaying the stream (only when it started at revision ≤ 2).</param>
    public static IReadOnlyList<string> Validate(WatchRecord watch, IReadOnlyList<Operation> history, long upToRevision, bool everyRevisionTouchesPrefix, out IReadOnlyDictionary<string, KvItem>? replayed)
    {
        ArgumentNullException.ThrowIfNull(watch);
        ArgumentNullException.ThrowIfNull(history);
        var problems = new List<string>();
        string name = watch.Name;
        long previous = 0;
        var seen = new HashSet<(long, string)>();
        foreach (WatchEventRecord e in watch.Events)
        {
            if (e.Revision < previous)
            {
                problems.Add($"watch {name}: event {e} comes after revision {previous}");
            }

            if (!seen.Add((e.Revision, e.Key)))
            {
                problems.Add($"watch {name}: duplicate event {e}");
            }

            if (e.Revision < watch.StartRevision)
            {
                problems.Add($"watch {name}: event {e} is before the start revision {watch.StartRevision}");
            }

            if (!e.Key.StartsWith(watch.Prefix, StringComparison.Ordinal))
            {
                problems.Add($"watch {name}: event {e} is outside the prefix {watch.Prefix}");
            }

            previous = Math.Max(previous, e.Revision);
        }

        ILookup<long, WatchEventRecord> byRevision = watch.Events.ToLookup(e => e.Revision);
        long first = Math.Max(watch.StartRevision, 2);
        foreach (Operation op in history.Where(o => o.Response is { Revision: > 0 } r && r.Revision >= first && r.Revision <= upToRevision))
        {
            List<(string Key, string? Value)>? changes = KnownChanges(op.Request, op.Response!.Reply, watch.Prefix);
            if (changes is null || changes.Count == 0 && !HistoryValidator.ChangedStore(op.Request, op.Response.Reply))
            {
                continue;
            }

            List<WatchEventRecord> events = [.. byRevision[op.Response.Revision]];
            if (events.Count == 0)
            {
                problems.Add($"watch {name}: no event for revision {op.Response.Revision}, written by {op}");
                continue;
            }

            string expected = string.Join(", ", changes.Select(c => c.Value is null ? $"delete {c.Key}" : $"put {c.Key}={c.Value}").Order(StringComparer.Ordinal));
            string actual = string.Join(", ", events.Select(e => e.IsDelete ? $"delete {e.Key}" : $"put {e.Key}={e.Value}").Order(StringComparer.Ordinal));
            if (!string.Equals(expected, actual, StringComparison.Ordinal))
            {
                problems.Add($"watch {name}: revision {op.Response.Revision} delivered [{actual}] but {op} did [{expected}]");
            }
        }

        if (everyRevisionTouchesPrefix)
        {
            for (long revision = first; revision <= upToRevision; revision++)
            {
                if (!byRevision.Contains(revision))
                {
                    problems.Add($"watch {name}: gap, no event for revision {revision} (every revision up to {upToRevision} touches {watch.Prefix})");
                }
            }
        }

        var putters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Operation op in history)
        {
            foreach (PutOp put in HistoryValidator.Puts(op.Request))
            {
                putters.TryAdd(put.Value, put.Key);
            }
        }

        foreach (WatchEventRecord e in watch.Events.Where(e => !e.IsDelete))
        {
            if (!putters.TryGetValue(e.Value, out string? key) || !string.Equals(key, e.Key, StringComparison.Ordinal))
            {
                problems.Add($"watch {name}: event {e} carries a value no put wrote to that key");
            }
        }

        replayed = null;
        if (watch.StartRevision <= 2)
        {
            var state = new Dictionary<string, KvItem>(StringComparer.Ordinal);
            foreach (WatchEventRecord e in watch.Events.Where(e => e.Revision <= upToRevision))
            {
                if (e.IsDelete)
                {
                    if (!state.Remove(e.Key))
                    {
                        problems.Add($"watch {name}: event {e} deletes a key that does not exist at that point");
                    }

                    continue;
                }

                state.TryGetValue(e.Key, out KvItem? old);
                long create = old?.CreateRevision ?? e.Revision;
                long version = (old?.Version ?? 0) + 1;
                if (e.CreateRevision != create || e.Version != version)
                {
                    problems.Add($"watch {name}: event {e} but replay says create {create}, version {version}");
                }

                state[e.Key] = new KvItem(e.Key, e.Value, e.Revision, e.CreateRevision, e.Version, 0);
            }

            replayed = state;
        }

        return problems;
    }

    /// <summary>The key changes an answered request made under <paramref name="prefix"/> (value null: delete), or null when not fully known.</summary>
    private static List<(string Key, string? Value)>? KnownChanges(KvOp op, KvReply reply, string prefix)
    {
        var changes = new List<(string Key, string? Value)>();
        switch (op, reply)
        {
            case (PutOp put, PutReply):
                changes.Add((put.Key, put.Value));
                break;
            case (DeleteOp { Prefix: false } delete, DeleteReply d):
                if (d.Deleted > 0)
                {
                    changes.Add((delete.Key, null));
                }

                break;
            case (TxnOp txn, TxnReply r):
                foreach ((KvOp inner, KvReply innerReply) in (r.Succeeded ? txn.Then : txn.Else).Zip(r.Results))
                {
                    List<(string Key, string? Value)>? nested = KnownChanges(inner, innerReply, prefix);
                    if (nested is null)
                    {
                        return null;
                    }

                    changes.AddRange(nested);
                }

                break;
            case (RangeOp, _):
                break;
            default:
                return null;
        }

        changes.RemoveAll(c => !c.Key.StartsWith(prefix, StringComparison.Ordinal));
        return changes;
    }
}
