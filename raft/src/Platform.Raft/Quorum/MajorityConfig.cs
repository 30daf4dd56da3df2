using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using VoteOutcome = Platform.Raft.Quorum.VoteResult;

namespace Platform.Raft.Quorum;

/// <summary>
/// A set of voter ids that decides by simple majority: ⌊n/2⌋+1 of the n voters.
/// </summary>
/// <remarks>
/// Ids are kept sorted in a list: configurations are small (usually 3–7 voters), change rarely
/// and are iterated on every append response, so a sorted array beats a hash set for iteration,
/// gives deterministic order for free and clones with one array copy. Not thread-safe; the
/// owner (a <c>ProgressTracker</c>, or a <c>Changer</c> working on a clone) mutates it.
/// </remarks>
internal sealed class MajorityConfig : IReadOnlyCollection<ulong>
{
    // Above this many voters CommittedIndex sorts on the heap; etcd's limit is 7, 32 keeps the
    // scratch buffer at 256 bytes of stack.
    private const int StackSortLimit = 32;

    private readonly List<ulong> _ids;

    /// <summary>Creates an empty configuration.</summary>
    public MajorityConfig()
    {
        _ids = [];
    }

    /// <summary>Creates a configuration of <paramref name="ids"/>; duplicates count once.</summary>
    public MajorityConfig(IEnumerable<ulong> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        _ids = [.. ids];
        _ids.Sort();
        int w = 0;
        for (int r = 0; r < _ids.Count; r++)
        {
            if (w == 0 || _ids[w - 1] != _ids[r])
            {
                _ids[w++] = _ids[r];
            }
        }

        _ids.RemoveRange(w, _ids.Count - w);
    }

    private MajorityConfig(List<ulong> sortedIds)
    {
        _ids = sortedIds;
    }

    public int Count => _ids.Count;

    /// <summary>The voter ids in ascending order, without copying; valid until the next mutation.</summary>
    public ReadOnlySpan<ulong> AsSpan() => CollectionsMarshal.AsSpan(_ids);

    public bool Contains(ulong id) => _ids.BinarySearch(id) >= 0;

    /// <summary>Adds <paramref name="id"/>; returns false if it was already present.</summary>
    public bool Add(ulong id)
    {
        int i = _ids.BinarySearch(id);
        if (i >= 0)
        {
            return false;
        }

        _ids.Insert(~i, id);
        return true;
    }

    /// <summary>Removes <paramref name="id"/>; returns false if it was absent.</summary>
    public bool Remove(ulong id)
    {
        int i = _ids.BinarySearch(id);
        if (i < 0)
        {
            return false;
        }

        _ids.RemoveAt(i);
        return true;
    }

    public void Clear() => _ids.Clear();

    /// <summary>A copy sharing no state with this configuration.</summary>
    public MajorityConfig Clone() => new([.. _ids]);

    /// <summary>The voter ids in ascending order (a fresh copy).</summary>
    public IReadOnlyList<ulong> Sorted() => _ids.ToArray();

    /// <summary>
    /// The largest index acknowledged by a majority of the voters. Voters unknown to
    /// <paramref name="l"/> count as having acked 0. The empty configuration returns
    /// <see cref="ulong.MaxValue"/> so that a joint configuration with an empty half behaves like
    /// its other half. Does not allocate for up to 32 voters (this runs on every append response).
    /// </summary>
    public ulong CommittedIndex(IAckedIndexer l)
    {
        ArgumentNullException.ThrowIfNull(l);
        int n = _ids.Count;
        if (n == 0)
        {
            return ulong.MaxValue;
        }

        Span<ulong> acked = n <= StackSortLimit ? stackalloc ulong[StackSortLimit] : new ulong[n];
        acked = acked[..n];
        ReadOnlySpan<ulong> ids = CollectionsMarshal.AsSpan(_ids);
        for (int i = 0; i < ids.Length; i++)
        {
            acked[i] = l.TryGetAckedIndex(ids[i], out ulong index) ? index : 0;
        }

        acked.Sort();

        // Ascending order: the element n/2+1 places from the end is acked by itself and every
        // voter to its right, i.e. by a majority, and no larger index is.
        return acked[n - ((n / 2) + 1)];
    }

    /// <summary>
    /// Won when a majority voted yes, lost when a majority can no longer be reached even if every
    /// missing voter said yes, pending otherwise. Votes of ids outside the configuration are
    /// ignored. The empty configuration wins, so that a joint configuration with an empty half
    /// behaves like its other half.
    /// </summary>
    public VoteResult VoteResult(IReadOnlyDictionary<ulong, bool> votes)
    {
        ArgumentNullException.ThrowIfNull(votes);
        if (_ids.Count == 0)
        {
            return VoteOutcome.Won;
        }

        int granted = 0;
        int missing = 0;
        foreach (ulong id in _ids)
        {
            if (!votes.TryGetValue(id, out bool vote))
            {
                missing++;
            }
            else if (vote)
            {
                granted++;
            }
        }

        int quorum = (_ids.Count / 2) + 1;
        if (granted >= quorum)
        {
            return VoteOutcome.Won;
        }

        return granted + missing >= quorum ? VoteOutcome.Pending : VoteOutcome.Lost;
    }

    /// <summary>The ids in ascending order, e.g. <c>(1 2 3)</c>; <c>()</c> when empty.</summary>
    public override string ToString() => Format(_ids);

    /// <summary>Formats ascending <paramref name="ids"/> as <c>(1 2 3)</c>.</summary>
    internal static string Format(IEnumerable<ulong> ids) =>
        "(" + string.Join(' ', ids.Select(id => id.ToString(CultureInfo.InvariantCulture))) + ")";

    /// <summary>
    /// A multi-line bar chart of the acked indexes (etcd's format, used by scenario files): one
    /// line per voter in id order; the bar length is the number of voters that acked strictly
    /// less, <c>?</c> marks a voter unknown to <paramref name="l"/>.
    /// </summary>
    public string Describe(IAckedIndexer l)
    {
        ArgumentNullException.ThrowIfNull(l);
        if (_ids.Count == 0)
        {
            return "<empty majority quorum>";
        }

        int n = _ids.Count;
        var acked = new (ulong Index, bool Known)[n];
        for (int i = 0; i < n; i++)
        {
            bool known = l.TryGetAckedIndex(_ids[i], out ulong index);
            acked[i] = (known ? index : 0, known);
        }

        var sb = new StringBuilder();
        sb.Append(' ', n).Append("    idx\n");
        for (int i = 0; i < n; i++)
        {
            if (!acked[i].Known)
            {
                sb.Append('?').Append(' ', n);
            }
            else
            {
                int bar = acked.Count(a => a.Index < acked[i].Index);
                sb.Append('x', bar).Append('>').Append(' ', n - bar);
            }

            sb.Append(CultureInfo.InvariantCulture, $" {acked[i].Index,5}    (id={_ids[i]})\n");
        }

        return sb.ToString();
    }

    public List<ulong>.Enumerator GetEnumerator() => _ids.GetEnumerator();

    IEnumerator<ulong> IEnumerable<ulong>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
