using System.Text;

namespace Platform.Etcd.Robustness.Linearizability;

/// <summary>One key's entry in the model state.</summary>
internal readonly record struct KvEntry(string Value, long ModRevision, long CreateRevision, long Version, long Lease);

/// <summary>
/// An immutable model state: the store revision, one slot per key of the history's key table
/// (sorted, so a prefix is a contiguous slot range) and the live leases. Equality and hash are by
/// value, which is what the checker's (linearized set, state) cache needs.
/// </summary>
internal sealed class KvState : IEquatable<KvState>
{
    private readonly int _hash;

    public KvState(long revision, KvEntry?[] entries, long[] leases)
    {
        Revision = revision;
        Entries = entries;
        Leases = leases;
        var hash = new HashCode();
        hash.Add(revision);
        foreach (KvEntry? entry in entries)
        {
            hash.Add(entry);
        }

        foreach (long lease in leases)
        {
            hash.Add(lease);
        }

        _hash = hash.ToHashCode();
    }

    public long Revision { get; }

    public KvEntry?[] Entries { get; }

    /// <summary>Sorted lease ids.</summary>
    public long[] Leases { get; }

    public bool Equals(KvState? other)
    {
        if (other is null || other._hash != _hash || other.Revision != Revision)
        {
            return false;
        }

        return Entries.AsSpan().SequenceEqual(other.Entries) && Leases.AsSpan().SequenceEqual(other.Leases);
    }

    public override bool Equals(object? obj) => Equals(obj as KvState);

    public override int GetHashCode() => _hash;

    public string Describe(KeyTable keys, bool revisions)
    {
        var text = new StringBuilder();
        if (revisions)
        {
            text.Append("rev ").Append(Revision).Append(';');
        }

        for (int i = 0; i < Entries.Length; i++)
        {
            if (Entries[i] is KvEntry e)
            {
                text.Append(' ').Append(keys[i]).Append('=').Append(e.Value);
                if (revisions)
                {
                    text.Append('@').Append(e.ModRevision);
                }

                if (e.Lease != 0)
                {
                    text.Append("(lease ").Append(e.Lease.ToString("x", null)).Append(')');
                }
            }
        }

        if (Leases.Length > 0)
        {
            text.Append("; leases ").Append(string.Join(',', Leases.Select(l => l.ToString("x", null))));
        }

        return text.ToString();
    }
}

/// <summary>The sorted keys of a history; slot i is keys[i]. Prefixes map to contiguous slot ranges.</summary>
internal sealed class KeyTable
{
    private readonly string[] _keys;
    private readonly Dictionary<string, int> _slots;

    public KeyTable(IEnumerable<string> keys)
    {
        _keys = [.. keys.Distinct().Order(StringComparer.Ordinal)];
        _slots = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _keys.Length; i++)
        {
            _slots[_keys[i]] = i;
        }
    }

    public int Count => _keys.Length;

    public string this[int slot] => _keys[slot];

    public int Slot(string key) => _slots[key];

    /// <summary>The slots [start, end) of every key starting with <paramref name="prefix"/>.</summary>
    public (int Start, int End) PrefixSlots(string prefix)
    {
        int start = LowerBound(prefix);
        int end = start;
        while (end < _keys.Length && _keys[end].StartsWith(prefix, StringComparison.Ordinal))
        {
            end++;
        }

        return (start, end);
    }

    private int LowerBound(string key)
    {
        int lo = 0;
        int hi = _keys.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (string.CompareOrdinal(_keys[mid], key) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}

/// <summary>
/// etcd's KV semantics as a deterministic sequential model: every write transaction that changes
/// something takes the next revision (puts always change; deletes and revokes only when a key goes;
/// lease grants never touch the key space); a put sets mod revision to it, keeps the create
/// revision of a live key and counts the version up; operations inside a transaction see the
/// earlier ones. With <see cref="CheckRevisions"/> false only values and existence are compared,
/// which makes single-key histories partitionable by key.
/// </summary>
internal sealed class KvModel
{
    public KvModel(KeyTable keys, bool checkRevisions)
    {
        Keys = keys;
        CheckRevisions = checkRevisions;
    }

    public KeyTable Keys { get; }

    public bool CheckRevisions { get; }

    /// <summary>See <see cref="CheckOptions.IgnoreLeaseHeaderRevisions"/>.</summary>
    public bool IgnoreLeaseHeaderRevisions { get; init; }

    /// <summary>A fresh etcd: revision 1, no keys, no leases.</summary>
    public KvState Initial() => new(1, new KvEntry?[Keys.Count], []);

    /// <summary>Applies <paramref name="op"/> to <paramref name="state"/>: the next state and the reply etcd would give.</summary>
    public (KvState Next, KvResponse Response) Apply(KvState state, KvOp op)
    {
        if (op is LeaseGrantOp grant)
        {
            if (Array.BinarySearch(state.Leases, grant.Lease) >= 0)
            {
                return (state, new KvResponse(state.Revision, new ErrorReply("lease already exists")));
            }

            long[] leases = [.. state.Leases, grant.Lease];
            Array.Sort(leases);
            return (new KvState(state.Revision, state.Entries, leases), new KvResponse(state.Revision, LeaseReply.Instance));
        }

        var txn = new Txn(this, state);
        KvReply reply;
        switch (op)
        {
            case LeaseRevokeOp revoke:
                if (Array.BinarySearch(state.Leases, revoke.Lease) < 0)
                {
                    return (state, new KvResponse(state.Revision, new ErrorReply("lease not found")));
                }

                for (int slot = 0; slot < Keys.Count; slot++)
                {
                    if (txn.Entries[slot] is { } e && e.Lease == revoke.Lease)
                    {
                        txn.Delete(slot);
                    }
                }

                txn.Leases = [.. state.Leases.Where(l => l != revoke.Lease)];
                reply = LeaseReply.Instance;
                break;
            case TxnOp t:
                bool succeeded = t.Compares.All(txn.Holds);
                IReadOnlyList<KvOp> branch = succeeded ? t.Then : t.Else;
                var results = new KvReply[branch.Count];
                for (int i = 0; i < branch.Count; i++)
                {
                    results[i] = txn.Run(branch[i]);
                    if (results[i] is ErrorReply)
                    {
                        return (state, new KvResponse(state.Revision, results[i]));
                    }
                }

                reply = new TxnReply(succeeded, results);
                break;
            default:
                reply = txn.Run(op);
                if (reply is ErrorReply)
                {
                    return (state, new KvResponse(state.Revision, reply));
                }

                break;
        }

        KvState next = txn.Finish();
        return (next, new KvResponse(next.Revision, reply));
    }

    /// <summary>
    /// Whether <paramref name="observed"/> is what <paramref name="expected"/> says for
    /// <paramref name="request"/>, within what this model compares (revisions only when checked and known).
    /// </summary>
    public bool Matches(KvOp request, KvResponse expected, KvResponse observed)
    {
        bool leaseHeader = IgnoreLeaseHeaderRevisions && request is LeaseGrantOp or LeaseRevokeOp;
        if (CheckRevisions && !leaseHeader && observed.Revision != 0 && observed.Revision != expected.Revision)
        {
            return false;
        }

        return Matches(expected.Reply, observed.Reply);
    }

    private bool Matches(KvReply expected, KvReply observed)
    {
        switch (expected, observed)
        {
            case (RangeReply e, RangeReply o):
                if (e.Kvs.Count != o.Kvs.Count)
                {
                    return false;
                }

                for (int i = 0; i < e.Kvs.Count; i++)
                {
                    KvItem a = e.Kvs[i];
                    KvItem b = o.Kvs[i];
                    if (!string.Equals(a.Key, b.Key, StringComparison.Ordinal) || !string.Equals(a.Value, b.Value, StringComparison.Ordinal))
                    {
                        return false;
                    }

                    if (CheckRevisions && (a.ModRevision != b.ModRevision || a.CreateRevision != b.CreateRevision || a.Version != b.Version || a.Lease != b.Lease))
                    {
                        return false;
                    }
                }

                return true;
            case (PutReply, PutReply):
            case (LeaseReply, LeaseReply):
                return true;
            case (DeleteReply e, DeleteReply o):
                return e.Deleted == o.Deleted;
            case (TxnReply e, TxnReply o):
                if (e.Succeeded != o.Succeeded || e.Results.Count != o.Results.Count)
                {
                    return false;
                }

                for (int i = 0; i < e.Results.Count; i++)
                {
                    if (!Matches(e.Results[i], o.Results[i]))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>A write transaction in progress: copy-on-write entries, one pending revision.</summary>
    private sealed class Txn
    {
        private readonly KvModel _model;
        private readonly KvState _start;
        private KvEntry?[]? _copy;
        private bool _changed;

        public Txn(KvModel model, KvState start)
        {
            _model = model;
            _start = start;
            Leases = start.Leases;
        }

        public KvEntry?[] Entries => _copy ?? _start.Entries;

        public long[] Leases { get; set; }

        private long PendingRevision => _start.Revision + 1;

        public bool Holds(KvCompare compare)
        {
            KvEntry? entry = Entries[_model.Keys.Slot(compare.Key)];
            return compare.Target switch
            {
                CompareTarget.Value => compare.Value is null ? entry is null : entry is { } e && string.Equals(e.Value, compare.Value, StringComparison.Ordinal),
                CompareTarget.ModRevision => (entry?.ModRevision ?? 0) == compare.Number,
                _ => (entry?.Version ?? 0) == compare.Number,
            };
        }

        public KvReply Run(KvOp op)
        {
            switch (op)
            {
                case RangeOp range:
                    {
                        (int start, int end) = range.Prefix ? _model.Keys.PrefixSlots(range.Key) : Single(range.Key);
                        var items = new List<KvItem>();
                        for (int slot = start; slot < end; slot++)
                        {
                            if (Entries[slot] is { } e)
                            {
                                items.Add(new KvItem(_model.Keys[slot], e.Value, e.ModRevision, e.CreateRevision, e.Version, e.Lease));
                            }
                        }

                        return new RangeReply(items);
                    }

                case PutOp put:
                    {
                        if (put.Lease != 0 && Array.BinarySearch(Leases, put.Lease) < 0)
                        {
                            return new ErrorReply("requested lease not found");
                        }

                        int slot = _model.Keys.Slot(put.Key);
                        KvEntry? old = Entries[slot];
                        Write(slot, new KvEntry(put.Value, PendingRevision, old?.CreateRevision ?? PendingRevision, (old?.Version ?? 0) + 1, put.Lease));
                        return PutReply.Instance;
                    }

                case DeleteOp delete:
                    {
                        (int start, int end) = delete.Prefix ? _model.Keys.PrefixSlots(delete.Key) : Single(delete.Key);
                        long deleted = 0;
                        for (int slot = start; slot < end; slot++)
                        {
                            if (Entries[slot] is not null)
                            {
                                Delete(slot);
                                deleted++;
                            }
                        }

                        return new DeleteReply(deleted);
                    }

                default:
                    throw new ArgumentException($"not a transaction operation: {op}", nameof(op));
            }
        }

        public void Delete(int slot) => Write(slot, null);

        public KvState Finish() =>
            _changed ? new KvState(PendingRevision, Entries, Leases)
            : ReferenceEquals(Leases, _start.Leases) ? _start : new KvState(_start.Revision, _start.Entries, Leases);

        private (int Start, int End) Single(string key)
        {
            int slot = _model.Keys.Slot(key);
            return (slot, slot + 1);
        }

        private void Write(int slot, KvEntry? entry)
        {
            _copy ??= (KvEntry?[])_start.Entries.Clone();
            _copy[slot] = entry;
            _changed = true;
        }
    }
}
