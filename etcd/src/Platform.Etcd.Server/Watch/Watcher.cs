using Google.Protobuf;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Server.Watch;

/// <summary>
/// One watcher: a key or range, its filters and the next revision it must see. Owned by its
/// stream; its place (synced or unsynced) and <see cref="NextRevision"/> are guarded by the hub.
/// </summary>
internal sealed class Watcher(WatchStream stream, long id, WatchCreateRequest request)
{
    public WatchStream Stream { get; } = stream;

    public long Id { get; } = id;

    public ByteString Key { get; } = request.Key;

    /// <summary>Empty = the key alone; "\0" = every key from <see cref="Key"/> on.</summary>
    public ByteString RangeEnd { get; } = request.RangeEnd;

    public bool PrevKv { get; } = request.PrevKv;

    public bool ProgressNotify { get; } = request.ProgressNotify;

    public bool Fragment { get; } = request.Fragment;

    public bool NoPut { get; } = request.Filters.Contains(WatchCreateRequest.Types.FilterType.Noput);

    public bool NoDelete { get; } = request.Filters.Contains(WatchCreateRequest.Types.FilterType.Nodelete);

    /// <summary>The first revision not yet delivered.</summary>
    public long NextRevision { get; set; }

    /// <summary>Whether events were sent since the last progress notification.</summary>
    public bool SentSinceProgress { get; set; }

    public bool Canceled { get; set; }

    public bool Matches(ByteString key)
    {
        ReadOnlySpan<byte> k = key.Span;
        if (RangeEnd.IsEmpty)
        {
            return k.SequenceEqual(Key.Span);
        }

        if (k.SequenceCompareTo(Key.Span) < 0)
        {
            return false;
        }

        return RangeEnd.Span is [0] || k.SequenceCompareTo(RangeEnd.Span) < 0;
    }

    /// <summary>The events this watcher wants, from revision <see cref="NextRevision"/> on, shaped for it.</summary>
    public List<Event> Filter(IReadOnlyList<Event> events)
    {
        var result = new List<Event>();
        foreach (Event e in events)
        {
            if (e.Kv.ModRevision < NextRevision || !Matches(e.Kv.Key)
                || (NoPut && e.Type == Event.Types.EventType.Put) || (NoDelete && e.Type == Event.Types.EventType.Delete))
            {
                continue;
            }

            if (!PrevKv && e.PrevKv is not null)
            {
                // Store events are shared: drop prev_kv on a copy.
                result.Add(new Event { Type = e.Type, Kv = e.Kv });
            }
            else
            {
                result.Add(e);
            }
        }

        return result;
    }
}
