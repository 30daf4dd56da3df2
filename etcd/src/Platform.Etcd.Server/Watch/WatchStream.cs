using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Platform.Etcd.Api;
using Platform.Etcd.Api.Authpb;
using Platform.Etcd.Api.Mvcc;

namespace Platform.Etcd.Server.Watch;

/// <summary>
/// One gRPC Watch stream (etcd's serverWatchStream): watchers multiplexed on one response
/// channel. Event responses count against <see cref="EtcdServerOptions.WatchStreamBufferSize"/>
/// (a full stream turns its watchers into victims that catch up later); control responses
/// (created, canceled, progress) are always queued.
/// </summary>
internal sealed class WatchStream : IWatchStream
{
    private readonly WatchHub _hub;
    private readonly RequestContext _context;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Watcher> _watchers = [];
    private readonly Channel<WatchResponse> _channel = Channel.CreateUnbounded<WatchResponse>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CountingReader _reader;
    private long _nextId;
    private int _queued;
    private bool _closed;

    public WatchStream(WatchHub hub, RequestContext context)
    {
        _hub = hub;
        _context = context;
        _reader = new CountingReader(this);
    }

    public ChannelReader<WatchResponse> Responses => _reader;

    public ValueTask HandleAsync(WatchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        switch (request.RequestUnionCase)
        {
            case WatchRequest.RequestUnionOneofCase.CreateRequest:
                Create(request.CreateRequest);
                break;
            case WatchRequest.RequestUnionOneofCase.CancelRequest:
                Cancel(request.CancelRequest.WatchId);
                break;
            case WatchRequest.RequestUnionOneofCase.ProgressRequest:
                _hub.RequestProgress(this);
                break;
            default:
                break;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        List<Watcher> watchers;
        lock (_lock)
        {
            _closed = true;
            watchers = [.. _watchers.Values];
            _watchers.Clear();
            foreach (Watcher w in watchers)
            {
                w.Canceled = true;
            }
        }

        _hub.CloseStream(this, watchers);
        _channel.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    internal IReadOnlyList<Watcher> Watchers()
    {
        lock (_lock)
        {
            return [.. _watchers.Values];
        }
    }

    /// <summary>Queues events for <paramref name="w"/> (fragmented when asked); false when the stream's buffer cannot take them.</summary>
    internal bool TryDeliver(Watcher w, List<Event> events, long revision)
    {
        var response = new WatchResponse { Header = _hub.Server.NewHeader(revision), WatchId = w.Id };
        response.Events.AddRange(events);
        List<WatchResponse> parts = w.Fragment ? Fragment(response, _hub.Options.MaxRequestBytes) : [response];
        lock (_lock)
        {
            if (w.Canceled || _closed)
            {
                // Nobody will read it; report success so the watcher is not retried.
                return true;
            }

            if (Volatile.Read(ref _queued) + parts.Count > _hub.Options.WatchStreamBufferSize)
            {
                return false;
            }

            foreach (WatchResponse part in parts)
            {
                Write(part);
            }

            w.SentSinceProgress = true;
            return true;
        }
    }

    internal void SendControl(WatchResponse response)
    {
        lock (_lock)
        {
            if (!_closed)
            {
                Write(response);
            }
        }
    }

    internal void CancelCompacted(Watcher w, long compactRevision)
    {
        lock (_lock)
        {
            if (w.Canceled || _closed)
            {
                return;
            }

            w.Canceled = true;
            _watchers.Remove(w.Id);
            Write(new WatchResponse { Header = _hub.Server.NewHeader(), WatchId = w.Id, CompactRevision = compactRevision, Canceled = true });
        }
    }

    internal void Complete() => _channel.Writer.TryComplete();

    private void Create(WatchCreateRequest request)
    {
        long id;
        string? error = null;
        try
        {
            (string user, ulong revision) = _hub.Server.Auth.Identify(_context);
            _hub.Server.Auth.CheckPermitted(user, revision, request.Key, request.RangeEnd, Permission.Types.Type.Read);
        }
        catch (EtcdException e)
        {
            error = e.Message;
        }

        Watcher? watcher = null;
        lock (_lock)
        {
            id = request.WatchId;
            if (error is null)
            {
                if (id != 0 && _watchers.ContainsKey(id))
                {
                    error = "mvcc: duplicate watch ID provided on the WatchStream";
                }
                else
                {
                    if (id == 0)
                    {
                        while (_watchers.ContainsKey(_nextId))
                        {
                            _nextId++;
                        }

                        id = _nextId++;
                    }

                    watcher = new Watcher(this, id, request);
                    _watchers[id] = watcher;
                }
            }

            // The created response goes first, before the hub can deliver any event.
            var created = new WatchResponse { Header = _hub.Server.NewHeader(), WatchId = id, Created = true };
            if (error is not null)
            {
                created.Canceled = true;
                created.CancelReason = error;
            }

            Write(created);
        }

        if (watcher is not null)
        {
            _hub.Add(watcher, request.StartRevision);
        }
    }

    private void Cancel(long id)
    {
        Watcher? w;
        lock (_lock)
        {
            if (!_watchers.Remove(id, out w))
            {
                return;
            }

            w.Canceled = true;
        }

        _hub.Remove(w);
        SendControl(new WatchResponse { Header = _hub.Server.NewHeader(), WatchId = id, Canceled = true });
    }

    private void Write(WatchResponse response)
    {
        Interlocked.Increment(ref _queued);
        _channel.Writer.TryWrite(response);
    }

    /// <summary>etcd's sendFragments: split a response over <paramref name="maxBytes"/> into parts, all but the last marked fragment.</summary>
    private static List<WatchResponse> Fragment(WatchResponse response, int maxBytes)
    {
        if (response.CalculateSize() < maxBytes || response.Events.Count < 2)
        {
            return [response];
        }

        var parts = new List<WatchResponse>();
        int index = 0;
        while (index < response.Events.Count)
        {
            var part = new WatchResponse { Header = response.Header, WatchId = response.WatchId, Fragment = true };
            int size = part.CalculateSize();
            while (index < response.Events.Count)
            {
                int eventSize = response.Events[index].CalculateSize() + 5;
                if (part.Events.Count > 0 && size + eventSize >= maxBytes)
                {
                    break;
                }

                part.Events.Add(response.Events[index++]);
                size += eventSize;
            }

            parts.Add(part);
        }

        parts[^1].Fragment = false;
        return parts;
    }

    /// <summary>Counts what the consumer takes off the channel, so the buffer bound sees reads.</summary>
    private sealed class CountingReader(WatchStream owner) : ChannelReader<WatchResponse>
    {
        public override Task Completion => owner._channel.Reader.Completion;

        public override bool CanCount => true;

        public override int Count => owner._channel.Reader.Count;

        public override bool TryRead([MaybeNullWhen(false)] out WatchResponse item)
        {
            if (owner._channel.Reader.TryRead(out item))
            {
                Interlocked.Decrement(ref owner._queued);
                return true;
            }

            return false;
        }

        public override bool TryPeek([MaybeNullWhen(false)] out WatchResponse item) => owner._channel.Reader.TryPeek(out item);

        public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
            owner._channel.Reader.WaitToReadAsync(cancellationToken);
    }
}
