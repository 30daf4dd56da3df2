using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Platform.Raft.Quorum;

namespace Platform.Raft.Tracker;

/// <summary>
/// The progress of every member (voters and learners) by id, enumerated in ascending id order so
/// that whatever the leader does per member happens in a deterministic order.
/// </summary>
/// <remarks>
/// Stored as parallel sorted arrays: memberships are small and change rarely, while lookups
/// (every message) and ordered iteration (every broadcast) are constant work; binary search
/// over a handful of ids is as fast as hashing and iteration needs no sort. Not thread-safe.
/// </remarks>
internal sealed class ProgressMap : IReadOnlyDictionary<ulong, Progress>, IAckedIndexer
{
    private readonly List<ulong> _ids;
    private readonly List<Progress> _progress;

    public ProgressMap()
    {
        _ids = [];
        _progress = [];
    }

    private ProgressMap(List<ulong> ids, List<Progress> progress)
    {
        _ids = ids;
        _progress = progress;
    }

    public int Count => _ids.Count;

    /// <summary>The ids in ascending order.</summary>
    public IEnumerable<ulong> Keys => _ids;

    /// <summary>The progresses in ascending id order.</summary>
    public IEnumerable<Progress> Values => _progress;

    /// <summary>Gets the progress of <paramref name="id"/>, or adds or replaces it.</summary>
    /// <exception cref="KeyNotFoundException">Getting an id that is not tracked.</exception>
    public Progress this[ulong id]
    {
        get => TryGetValue(id, out Progress? pr) ? pr : throw new KeyNotFoundException($"no progress for {id}");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            int i = _ids.BinarySearch(id);
            if (i >= 0)
            {
                _progress[i] = value;
            }
            else
            {
                _ids.Insert(~i, id);
                _progress.Insert(~i, value);
            }
        }
    }

    public bool ContainsKey(ulong key) => _ids.BinarySearch(key) >= 0;

    public bool TryGetValue(ulong key, [MaybeNullWhen(false)] out Progress value)
    {
        int i = _ids.BinarySearch(key);
        if (i < 0)
        {
            value = null;
            return false;
        }

        value = _progress[i];
        return true;
    }

    /// <summary>Adds the progress of a new member.</summary>
    /// <exception cref="ArgumentException"><paramref name="id"/> is already tracked.</exception>
    public void Add(ulong id, Progress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        int i = _ids.BinarySearch(id);
        if (i >= 0)
        {
            throw new ArgumentException($"progress for {id} already exists", nameof(id));
        }

        _ids.Insert(~i, id);
        _progress.Insert(~i, progress);
    }

    /// <summary>Stops tracking <paramref name="id"/>; returns false if it was not tracked.</summary>
    public bool Remove(ulong id)
    {
        int i = _ids.BinarySearch(id);
        if (i < 0)
        {
            return false;
        }

        _ids.RemoveAt(i);
        _progress.RemoveAt(i);
        return true;
    }

    /// <summary>The match index of <paramref name="voterId"/>, if tracked.</summary>
    public bool TryGetAckedIndex(ulong voterId, out ulong index)
    {
        int i = _ids.BinarySearch(voterId);
        if (i < 0)
        {
            index = 0;
            return false;
        }

        index = _progress[i].Match;
        return true;
    }

    /// <summary>A deep copy: every <see cref="Progress"/> (and its inflights) is cloned.</summary>
    public ProgressMap Clone() => new([.. _ids], _progress.ConvertAll(p => p.Clone()));

    /// <summary>One <c>id: progress</c> line per member in id order, each ending with a newline.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < _ids.Count; i++)
        {
            sb.Append(_ids[i]).Append(": ").Append(_progress[i]).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Enumerates in ascending id order without allocating.</summary>
    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<ulong, Progress>> IEnumerable<KeyValuePair<ulong, Progress>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>An ascending-id enumerator; the map must not change while it is used.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<ulong, Progress>>
    {
        private readonly ProgressMap _map;
        private readonly int _count;
        private int _index;

        internal Enumerator(ProgressMap map)
        {
            _map = map;
            _count = map.Count;
            _index = -1;
        }

        public readonly KeyValuePair<ulong, Progress> Current => new(_map._ids[_index], _map._progress[_index]);

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_map.Count != _count)
            {
                throw new InvalidOperationException("the progress map changed during enumeration");
            }

            return ++_index < _count;
        }

        public void Reset() => _index = -1;

        public readonly void Dispose()
        {
        }
    }
}
