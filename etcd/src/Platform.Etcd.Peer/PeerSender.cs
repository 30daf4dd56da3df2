using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Platform.Raft;

namespace Platform.Etcd.Peer;

/// <summary>
/// What we send to one peer: a bounded queue drained into one long-lived HTTP/1.1 POST whose
/// chunked body is the stream of frames (<see cref="PeerFrames"/>), reconnected with backoff when
/// it breaks; MsgSnap goes separately, one at a time, with the backend; a prober measures the
/// round trip time. A full queue drops the message and reports the peer unreachable (etcd's
/// behaviour: raft retries, nothing blocks the raft loop).
/// </summary>
internal sealed class PeerSender : IAsyncDisposable
{
    // Frames are written in batches of up to this many bytes between flushes.
    private const int WriteBatchBytes = 256 * 1024;

    private readonly PeerTransport _transport;
    private readonly ulong _id;
    private readonly Channel<Message> _queue;
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;
    private readonly Task _prober;
    private long _activeSinceTicks;
    private int _snapshotInFlight;
    private int _urlIndex;

    public PeerSender(PeerTransport transport, ulong id)
    {
        _transport = transport;
        _id = id;
        _queue = Channel.CreateBounded<Message>(new BoundedChannelOptions(transport.Options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _stop = CancellationTokenSource.CreateLinkedTokenSource(transport.Stopping);
        _loop = Task.Run(RunAsync);
        _prober = Task.Run(ProbeAsync);
    }

    /// <summary>Since when the stream has been carrying messages; null = not connected.</summary>
    public DateTimeOffset? ActiveSince
    {
        get
        {
            long ticks = Volatile.Read(ref _activeSinceTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Messages dropped because the queue was full (for tests and logs).</summary>
    public long Dropped { get; private set; }

    public void Send(Message message)
    {
        if (message.Type == MessageType.MsgSnap)
        {
            if (Interlocked.CompareExchange(ref _snapshotInFlight, 1, 0) != 0)
            {
                // One snapshot at a time; raft asks again once the first one is reported.
                _transport.Sink!.ReportSnapshot(_id, failed: true);
                return;
            }

            _ = Task.Run(() => SendSnapshotAsync(message));
            return;
        }

        if (!_queue.Writer.TryWrite(message))
        {
            Dropped++;
            PeerMetrics.SendFailed(_id);
            _transport.Sink!.ReportUnreachable(_id);
            if (Dropped % 1000 == 1)
            {
                _transport.Logger.LogWarning("rafthttp: dropped {Type} to {Peer}: the stream's queue is full ({Dropped} dropped so far)", message.Type, PeerHttp.Hex(_id), Dropped);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loop, _prober).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _stop.Dispose();
    }

    private Uri? NextUrl(string path)
    {
        IReadOnlyList<string> urls = _transport.Sink!.PeerUrls(_id);
        if (urls.Count == 0)
        {
            return null;
        }

        string url = urls[(int)((uint)Interlocked.Increment(ref _urlIndex) % (uint)urls.Count)];
        return new Uri(new Uri(url), path);
    }

    private async Task RunAsync()
    {
        TimeSpan delay = _transport.Options.MinReconnectDelay;
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            Uri? url = NextUrl(PeerHttp.StreamPath);
            long started = Stopwatch.GetTimestamp();
            if (url is not null && await HandshakeAsync(url, stop).ConfigureAwait(false))
            {
                // One connection at a time: its pump stops (and is awaited) before the next one starts.
                using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var content = new FrameStreamContent(this);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content, Version = HttpVersion.Version11 };
                    PeerTransport.AddHeaders(request, _id, _transport.Sink!);
                    using HttpResponseMessage response = await _transport.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connection.Token).ConfigureAwait(false);
                    string body = await response.Content.ReadAsStringAsync(stop).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.Gone)
                    {
                        _transport.Sink!.ReportRemoved("the member has been permanently removed from the cluster (a peer refused our stream)");
                    }
                    else if (response.StatusCode != HttpStatusCode.NoContent)
                    {
                        _transport.Logger.LogWarning("rafthttp: stream to {Peer} at {Url} ended with {Status}: {Body}", PeerHttp.Hex(_id), url, (int)response.StatusCode, body.Trim());
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
                {
                    if (stop.IsCancellationRequested)
                    {
                        break;
                    }

                    _transport.Logger.LogDebug("rafthttp: stream to {Peer} at {Url} failed: {Error}", PeerHttp.Hex(_id), url, e.Message);
                }
                finally
                {
                    await connection.CancelAsync().ConfigureAwait(false);
                    await content.StoppedAsync().ConfigureAwait(false);
                }
            }

            bool wasActive = Interlocked.Exchange(ref _activeSinceTicks, 0) != 0;
            if (stop.IsCancellationRequested)
            {
                break;
            }

            if (wasActive)
            {
                _transport.Logger.LogInformation("rafthttp: lost the stream to peer {Peer}", PeerHttp.Hex(_id));
                _transport.Sink!.ReportUnreachable(_id);
            }

            // Backoff: a stream that lived a while reconnects at once, repeated failures wait longer.
            delay = Stopwatch.GetElapsedTime(started) > _transport.Options.MaxReconnectDelay
                ? _transport.Options.MinReconnectDelay
                : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _transport.Options.MaxReconnectDelay.Ticks));
            try
            {
                await Task.Delay(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Asks the peer whether it takes our stream; a refusal is logged (410: we were removed).</summary>
    private async Task<bool> HandshakeAsync(Uri url, CancellationToken stop)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url) { Version = HttpVersion.Version11 };
            PeerTransport.AddHeaders(request, _id, _transport.Sink!);
            using HttpResponseMessage response = await _transport.Client.SendAsync(request, stop).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return true;
            }

            string body = await response.Content.ReadAsStringAsync(stop).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Gone)
            {
                _transport.Sink!.ReportRemoved("the member has been permanently removed from the cluster (a peer refused our stream)");
            }
            else if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                _transport.Logger.LogWarning("rafthttp: peer {Peer} at {Url} refused our stream: {Status} {Body}", PeerHttp.Hex(_id), url, (int)response.StatusCode, body.Trim());
            }

            return false;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Writes queued frames to the request body until the stream breaks or we stop.</summary>
    private async Task PumpAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        ChannelReader<Message> reader = _queue.Reader;

        // An empty first flush sends the request headers, so the peer sees us connected at once;
        // the peer took our handshake, so the stream counts as active from here (etcd's activeSince),
        // not from the first message (there may be none for long: follower to follower).
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        MarkActive();
        while (true)
        {
            while (buffer.WrittenCount < WriteBatchBytes && reader.TryRead(out Message? message))
            {
                PeerFrames.Write(buffer, message);
            }

            if (buffer.WrittenCount > 0)
            {
                await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                PeerMetrics.Sent(_id, buffer.WrittenCount);
                buffer.ResetWrittenCount();
                continue;
            }

            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private void MarkActive()
    {
        if (Volatile.Read(ref _activeSinceTicks) == 0)
        {
            Volatile.Write(ref _activeSinceTicks, DateTimeOffset.UtcNow.Ticks);
            _transport.Logger.LogInformation("rafthttp: established a stream to peer {Peer}", PeerHttp.Hex(_id));
        }
    }

    private async Task SendSnapshotAsync(Message message)
    {
        long started = Stopwatch.GetTimestamp();
        bool failed = true;
        try
        {
            Uri? url = NextUrl(PeerHttp.SnapshotPath);
            if (url is null)
            {
                return;
            }

            Stream backend = _transport.Sink!.OpenSnapshotBackend(message);
            await using (backend.ConfigureAwait(false))
            {
                long bytes = backend.Length;
                _transport.Logger.LogInformation(
                    "rafthttp: sending snapshot at index {Index} with a {Bytes}-byte backend to peer {Peer}",
                    message.Snapshot.Metadata.Index,
                    bytes,
                    PeerHttp.Hex(_id));
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new SnapshotContent(message, backend), Version = HttpVersion.Version11 };
                PeerTransport.AddHeaders(request, _id, _transport.Sink!);
                using HttpResponseMessage response = await _transport.Client.SendAsync(request, _stop.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NoContent)
                {
                    failed = false;
                    PeerMetrics.Sent(_id, bytes);
                    PeerMetrics.SnapshotSent(_id, Stopwatch.GetElapsedTime(started).TotalSeconds);
                    _transport.Logger.LogInformation("rafthttp: sent snapshot at index {Index} to peer {Peer} in {Ms} ms", message.Snapshot.Metadata.Index, PeerHttp.Hex(_id), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                else
                {
                    string body = await response.Content.ReadAsStringAsync(_stop.Token).ConfigureAwait(false);
                    _transport.Logger.LogWarning("rafthttp: peer {Peer} refused snapshot at index {Index}: {Status} {Body}", PeerHttp.Hex(_id), message.Snapshot.Metadata.Index, (int)response.StatusCode, body.Trim());
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException or Server.EtcdException)
        {
            _transport.Logger.LogWarning("rafthttp: sending snapshot to peer {Peer} failed: {Error}", PeerHttp.Hex(_id), e.Message);
        }
        finally
        {
            Volatile.Write(ref _snapshotInFlight, 0);
            if (!_stop.IsCancellationRequested)
            {
                try
                {
                    _transport.Sink!.ReportSnapshot(_id, failed);
                    if (failed)
                    {
                        _transport.Sink!.ReportUnreachable(_id);
                    }
                }
                catch (Server.EtcdException)
                {
                    // The member stopped meanwhile.
                }
            }
        }
    }

    private async Task ProbeAsync()
    {
        CancellationToken stop = _stop.Token;
        using var timer = new PeriodicTimer(_transport.Options.ProbeInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                Uri? url = NextUrl(PeerHttp.ProbingPath);
                if (url is null)
                {
                    continue;
                }

                long start = Stopwatch.GetTimestamp();
                try
                {
                    using HttpResponseMessage response = await _transport.Client.GetAsync(url, stop).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        PeerMetrics.Rtt(_id, Stopwatch.GetElapsedTime(start).TotalSeconds);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
                {
                    // Unreachable: the stream reports it.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>The never-ending request body of the stream.</summary>
    private sealed class FrameStreamContent(PeerSender sender) : HttpContent
    {
        private Task _pump = Task.CompletedTask;

        /// <summary>Waits until the pump (if it started) has stopped; its failure is the request's.</summary>
        public async Task StoppedAsync()
        {
            try
            {
                await _pump.ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or HttpRequestException)
            {
                // Reported through SendAsync.
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            _pump = sender.PumpAsync(stream, sender._stop.Token);

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken) =>
            _pump = sender.PumpAsync(stream, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>A snapshot's body: the MsgSnap as one frame, then the backend's bytes to the end.</summary>
    private sealed class SnapshotContent(Message message, Stream backend) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            var header = new ArrayBufferWriter<byte>();
            PeerFrames.Write(header, message);
            await stream.WriteAsync(header.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await backend.CopyToAsync(stream, 256 * 1024, cancellationToken).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
