using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Server;
using Platform.Raft;

namespace Platform.Etcd.Peer;

/// <summary>
/// The peer URLs' listener (Kestrel, HTTP/1.1, optionally TLS with client certificates):
/// <list type="bullet">
/// <item><c>POST /raft/stream</c>: a body of frames, stepped into raft in order, until the peer closes it (204);
/// <c>GET /raft/stream</c> answers whether such a stream would be accepted (the sender's handshake).</item>
/// <item><c>POST /raft/snapshot</c>: one MsgSnap frame, then the sender's backend; stored, then stepped (204).</item>
/// <item><c>POST /raft/request/{kind}</c>: a forwarded request (200 + answer, or an error code header).</item>
/// <item><c>GET /raft/probing</c>: round-trip probe; <c>GET /members</c>, <c>GET /version</c> as etcd serves them.</item>
/// </list>
/// Raft requests carry X-Server-From, X-Raft-To and X-Etcd-Cluster-ID; a foreign cluster gets 412, a
/// removed member 410 (it stops when it hears that), everything before the server started 503.
/// </summary>
internal sealed class PeerListener(PeerTransport transport, PeerTransportOptions options) : IAsyncDisposable
{
    // What /version reports (the etcd release we are compatible with, as the client API's /version).
    private const string EtcdServerVersion = "3.4.23";

    private readonly List<(ListenOptions Listen, Uri Url)> _listeners = [];
    private WebApplication? _app;

    public IReadOnlyList<Uri> BoundUrls =>
        [.. _listeners.Select(l => new UriBuilder(l.Url) { Port = ((IPEndPoint)l.Listen.EndPoint).Port }.Uri)];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "etcd-peer" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(ConfigureKestrel);
        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _app = app;
        foreach (Uri url in BoundUrls)
        {
            transport.Logger.LogInformation("rafthttp: serving peer traffic on {Url}", url);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _app.StopAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Streams are long-lived: cut them.
            }

            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ConfigureKestrel(KestrelServerOptions kestrel)
    {
        kestrel.AddServerHeader = false;

        // Streams idle between heartbeats and snapshots are large: no body rate or size limits.
        kestrel.Limits.MinRequestBodyDataRate = null;
        kestrel.Limits.MaxRequestBodySize = null;
        _listeners.Clear();
        foreach (Uri url in options.ListenPeerUrls)
        {
            void Configure(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http1;
                if (url.Scheme == "https")
                {
                    PeerTlsOptions tls = options.Tls ?? throw new ArgumentException($"--listen-peer-urls {url} is https but no --peer-cert-file/--peer-key-file was given");
                    listen.UseHttps(HttpsOptions(tls));
                }

                _listeners.Add((listen, url));
            }

            if (url.Host == "localhost")
            {
                kestrel.Listen(IPAddress.Loopback, url.Port, Configure);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(url.Host.Trim('[', ']')), url.Port, Configure);
            }
        }
    }

    private static HttpsConnectionAdapterOptions HttpsOptions(PeerTlsOptions tls)
    {
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = PeerHttp.LoadCertificate(tls.CertFile, tls.KeyFile),
            ClientCertificateMode = tls.ClientCertAuth ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate,
        };
        X509Certificate2Collection? roots = tls.TrustedCaFile is null ? null : PeerHttp.LoadRoots(tls.TrustedCaFile);
        https.ClientCertificateValidation = (client, _, _) => roots is null ? !tls.ClientCertAuth : PeerHttp.ChainsTo(client, roots);
        return https;
    }

    private async Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? string.Empty;
        try
        {
            switch (path)
            {
                case PeerHttp.StreamPath when HttpMethods.IsPost(context.Request.Method):
                    await HandleStreamAsync(context).ConfigureAwait(false);
                    return;
                case PeerHttp.StreamPath when HttpMethods.IsGet(context.Request.Method):
                    // The sender's handshake before it opens a stream.
                    if (await CheckAsync(context).ConfigureAwait(false) is not null)
                    {
                        await WriteAsync(context, StatusCodes.Status200OK, "OK").ConfigureAwait(false);
                    }

                    return;
                case PeerHttp.SnapshotPath when HttpMethods.IsPost(context.Request.Method):
                    await HandleSnapshotAsync(context).ConfigureAwait(false);
                    return;
                case PeerHttp.ProbingPath:
                    await WriteAsync(context, StatusCodes.Status200OK, "OK").ConfigureAwait(false);
                    return;
                case PeerHttp.MembersPath when HttpMethods.IsGet(context.Request.Method):
                    await HandleMembersAsync(context).ConfigureAwait(false);
                    return;
                case PeerHttp.VersionPath when HttpMethods.IsGet(context.Request.Method):
                    context.Response.ContentType = "application/json";
                    await WriteAsync(context, StatusCodes.Status200OK, $"{{\"etcdserver\":\"{EtcdServerVersion}\",\"etcdcluster\":\"3.4.0\"}}").ConfigureAwait(false);
                    return;
                default:
                    if (path.StartsWith(PeerHttp.RequestPathPrefix, StringComparison.Ordinal) && HttpMethods.IsPost(context.Request.Method))
                    {
                        await HandleRequestAsync(context, path[PeerHttp.RequestPathPrefix.Length..]).ConfigureAwait(false);
                        return;
                    }

                    await WriteAsync(context, StatusCodes.Status404NotFound, "404 page not found").ConfigureAwait(false);
                    return;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ConnectionResetException or Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            // The peer went away mid-request.
        }
    }

    /// <summary>
    /// Checks a raft request's headers; answers and returns null when it must be refused. A refused
    /// request's connection is closed after the answer: its body (a stream) would never end. The
    /// sender asks first (<c>GET /raft/stream</c>, the same checks) to learn why it is refused.
    /// </summary>
    private async Task<IRaftMessageSink?> AcceptAsync(HttpContext context)
    {
        IRaftMessageSink? sink = await CheckAsync(context).ConfigureAwait(false);
        if (sink is null)
        {
            await context.Response.CompleteAsync().ConfigureAwait(false);
        }

        return sink;
    }

    private async Task<IRaftMessageSink?> CheckAsync(HttpContext context)
    {
        IRaftMessageSink? sink = transport.Sink;
        if (sink is null)
        {
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "etcdserver: the member is starting").ConfigureAwait(false);
            return null;
        }

        if (!PeerHttp.TryParseHex(context.Request.Headers[PeerHttp.ClusterIdHeader], out ulong clusterId) || clusterId != sink.ClusterId)
        {
            transport.Logger.LogWarning(
                "rafthttp: request from {Remote} has cluster ID {RemoteCluster}, local is {Local}: refused",
                context.Connection.RemoteIpAddress,
                context.Request.Headers[PeerHttp.ClusterIdHeader].ToString(),
                PeerHttp.Hex(sink.ClusterId));
            await WriteAsync(context, StatusCodes.Status412PreconditionFailed, "cluster ID mismatch").ConfigureAwait(false);
            return null;
        }

        if (PeerHttp.TryParseHex(context.Request.Headers[PeerHttp.ToHeader], out ulong to) && to != sink.MemberId)
        {
            await WriteAsync(context, StatusCodes.Status412PreconditionFailed, $"to field mismatch: {PeerHttp.Hex(to)} is not {PeerHttp.Hex(sink.MemberId)}").ConfigureAwait(false);
            return null;
        }

        if (PeerHttp.TryParseHex(context.Request.Headers[PeerHttp.FromHeader], out ulong from) && sink.IsRemoved(from))
        {
            await WriteAsync(context, StatusCodes.Status410Gone, "the member has been permanently removed from the cluster").ConfigureAwait(false);
            return null;
        }

        return sink;
    }

    private async Task HandleStreamAsync(HttpContext context)
    {
        IRaftMessageSink? sink = await AcceptAsync(context).ConfigureAwait(false);
        if (sink is null)
        {
            return;
        }

        _ = PeerHttp.TryParseHex(context.Request.Headers[PeerHttp.FromHeader], out ulong from);
        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                ReadResult read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = read.Buffer;
                long before = buffer.Length;
                while (PeerFrames.TryRead(ref buffer, out Message? message))
                {
                    sink.Receive(message!);
                }

                PeerMetrics.Received(from, before - buffer.Length);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (InvalidDataException e)
        {
            PeerMetrics.ReceiveFailed(from);
            transport.Logger.LogWarning("rafthttp: bad stream from {Peer}: {Error}", PeerHttp.Hex(from), e.Message);
            await WriteAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }
        catch (EtcdException)
        {
            // The member stopped.
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "etcdserver: server stopped").ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task HandleSnapshotAsync(HttpContext context)
    {
        IRaftMessageSink? sink = await AcceptAsync(context).ConfigureAwait(false);
        if (sink is null)
        {
            return;
        }

        _ = PeerHttp.TryParseHex(context.Request.Headers[PeerHttp.FromHeader], out ulong from);
        var reader = context.Request.BodyReader;
        Message? message;
        while (true)
        {
            ReadResult read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            try
            {
                if (PeerFrames.TryRead(ref buffer, out message))
                {
                    reader.AdvanceTo(buffer.Start);
                    break;
                }
            }
            catch (InvalidDataException e)
            {
                await WriteAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
                return;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                await WriteAsync(context, StatusCodes.Status400BadRequest, "snapshot body ended before its message").ConfigureAwait(false);
                return;
            }
        }

        if (message!.Type != MessageType.MsgSnap || message.Snapshot is null)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, $"expected MsgSnap, got {message.Type}").ConfigureAwait(false);
            return;
        }

        try
        {
            Stream body = reader.AsStream();
            await using (body.ConfigureAwait(false))
            {
                await sink.ReceiveSnapshotAsync(message, body, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (EtcdException e)
        {
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message).ConfigureAwait(false);
            return;
        }

        PeerMetrics.Received(from, context.Request.ContentLength ?? 0);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task HandleRequestAsync(HttpContext context, string kind)
    {
        IRaftMessageSink? sink = await AcceptAsync(context).ConfigureAwait(false);
        if (sink is null)
        {
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        try
        {
            byte[] answer = await sink.HandlePeerRequestAsync(kind, body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/protobuf";
            await context.Response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
        }
        catch (EtcdException e)
        {
            context.Response.Headers[PeerHttp.ErrorCodeHeader] = e.Code.ToString();
            await WriteAsync(context, StatusCodes.Status500InternalServerError, e.Message).ConfigureAwait(false);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            context.Response.Headers[PeerHttp.ErrorCodeHeader] = nameof(EtcdErrorCode.InvalidArgument);
            await WriteAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
        }
    }

    private async Task HandleMembersAsync(HttpContext context)
    {
        IRaftMessageSink? sink = transport.Sink;
        if (sink is null)
        {
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "etcdserver: the member is starting").ConfigureAwait(false);
            return;
        }

        context.Response.Headers[PeerHttp.ClusterIdHeader] = PeerHttp.Hex(sink.ClusterId);
        context.Response.ContentType = "application/json";
        context.Response.StatusCode = StatusCodes.Status200OK;
        await context.Response.Body.WriteAsync(PeerHttp.WriteMembers(sink.Members()), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType ??= "text/plain; charset=utf-8";
        if (status >= 400 && HttpMethods.IsPost(context.Request.Method))
        {
            // Without keep-alive Kestrel does not drain a refused request's (endless) body: it closes the connection.
            context.Response.Headers.Connection = "close";
        }

        await context.Response.WriteAsync(text + "\n", context.RequestAborted).ConfigureAwait(false);
    }
}
