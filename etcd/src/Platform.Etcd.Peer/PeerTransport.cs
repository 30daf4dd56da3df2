using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Server;
using Platform.Raft;

namespace Platform.Etcd.Peer;

/// <summary>
/// <see cref="IPeerTransport"/>: a <see cref="PeerListener"/> for what peers send, a
/// <see cref="PeerSender"/> per peer for what we send. Messages to members we do not know (not in
/// the member list, or removed) are dropped.
/// </summary>
internal sealed class PeerTransport : IPeerTransport
{
    private readonly PeerTransportOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, PeerSender> _senders = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly PeerListener _listener;
    private IRaftMessageSink? _sink;
    private int _disposed;

    public PeerTransport(PeerTransportOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger("rafthttp");
        Client = PeerHttp.CreateClient(options.Tls, options.DialTimeout);
        _listener = new PeerListener(this, options);
    }

    public IReadOnlyList<Uri> ListenUrls => _listener.BoundUrls;

    internal HttpClient Client { get; }

    internal PeerTransportOptions Options => _options;

    internal ILogger Logger => _logger;

    /// <summary>The member's sink once the server started the transport; null before.</summary>
    internal IRaftMessageSink? Sink => Volatile.Read(ref _sink);

    internal CancellationToken Stopping => _stopping.Token;

    public Task StartListeningAsync(CancellationToken cancellationToken) => _listener.StartAsync(cancellationToken);

    public void Start(IRaftMessageSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (Interlocked.CompareExchange(ref _sink, sink, null) is not null)
        {
            throw new InvalidOperationException("the transport was started already");
        }
    }

    public void Send(IReadOnlyList<Message> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        IRaftMessageSink sink = Sink ?? throw new InvalidOperationException("the transport is not started");
        foreach (Message m in messages)
        {
            if (m.To == 0 || m.To == sink.MemberId)
            {
                continue;
            }

            PeerSender? sender = GetSender(m.To);
            if (sender is null)
            {
                // Not a member (any more): nothing to send to.
                if (m.Type == MessageType.MsgSnap)
                {
                    sink.ReportSnapshot(m.To, failed: true);
                }

                continue;
            }

            sender.Send(m);
        }
    }

    /// <remarks>
    /// Senders start when there is something to send, and a follower sends nothing to the other
    /// followers: asking starts the stream (as etcd keeps one to every peer), so a follower's health
    /// check passes once its streams have lived for the check's interval.
    /// </remarks>
    public DateTimeOffset? ActiveSince(ulong memberId) =>
        Sink is { } sink && memberId != sink.MemberId ? GetSender(memberId)?.ActiveSince : null;

    public async ValueTask<byte[]> RequestAsync(ulong memberId, string kind, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kind);
        IRaftMessageSink sink = Sink ?? throw new InvalidOperationException("the transport is not started");
        IReadOnlyList<string> urls = sink.PeerUrls(memberId);
        if (urls.Count == 0)
        {
            throw new EtcdException(EtcdErrorCode.Unavailable, $"etcdserver: member {PeerHttp.Hex(memberId)} is not in the cluster");
        }

        Exception? last = null;
        foreach (string url in urls)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(url), PeerHttp.RequestPathPrefix + kind))
            {
                Content = new ReadOnlyMemoryContent(body),
            };
            AddHeaders(request, memberId, sink);
            try
            {
                using HttpResponseMessage response = await Client.SendAsync(request, cancellationToken).ConfigureAwait(false);
                byte[] answer = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return answer;
                }

                if (response.Headers.TryGetValues(PeerHttp.ErrorCodeHeader, out IEnumerable<string>? codes)
                    && Enum.TryParse(codes.First(), out EtcdErrorCode code))
                {
                    throw new EtcdException(code, System.Text.Encoding.UTF8.GetString(answer).TrimEnd('\n'));
                }

                last = new EtcdException(EtcdErrorCode.Unavailable, $"etcdserver: peer {PeerHttp.Hex(memberId)} answered {(int)response.StatusCode}");
            }
            catch (HttpRequestException e)
            {
                last = e;
            }
        }

        throw last as EtcdException ?? new EtcdException(EtcdErrorCode.Unavailable, $"etcdserver: cannot reach member {PeerHttp.Hex(memberId)}: {last?.Message}");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (PeerSender sender in _senders.Values)
        {
            await sender.DisposeAsync().ConfigureAwait(false);
        }

        await _listener.DisposeAsync().ConfigureAwait(false);
        Client.Dispose();
        _stopping.Dispose();
    }

    internal static void AddHeaders(HttpRequestMessage request, ulong to, IRaftMessageSink sink)
    {
        request.Headers.Add(PeerHttp.FromHeader, PeerHttp.Hex(sink.MemberId));
        request.Headers.Add(PeerHttp.ToHeader, PeerHttp.Hex(to));
        request.Headers.Add(PeerHttp.ClusterIdHeader, PeerHttp.Hex(sink.ClusterId));
    }

    private PeerSender? GetSender(ulong id)
    {
        if (_senders.TryGetValue(id, out PeerSender? sender))
        {
            return sender;
        }

        IRaftMessageSink sink = Sink!;
        if (sink.PeerUrls(id).Count == 0 || Volatile.Read(ref _disposed) != 0)
        {
            return null;
        }

        return _senders.GetOrAdd(id, static (peer, transport) => new PeerSender(transport, peer), this);
    }
}
