using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Platform.Etcd.Grpc.Hosting;

/// <summary>
/// gRPC (HTTP/2 with prior knowledge, "h2c") and HTTP/1.1 on one plain TCP port, as etcd's cmux
/// serves them. Kestrel picks HTTP/2 on a connection only when TLS negotiated "h2" by ALPN; without
/// TLS an Http1AndHttp2 endpoint always speaks HTTP/1.1 (it logs "HTTP/2 is not enabled"). This
/// connection middleware peeks at the first bytes without consuming them: a connection that opens
/// with the HTTP/2 client preface gets the two features Kestrel's protocol selection reads (a TLS
/// connection feature and "h2" as the negotiated application protocol), so the same endpoint
/// serves it as HTTP/2. The endpoint must set <c>AllowAlternateSchemes</c>: Kestrel then takes the
/// request's <c>:scheme</c> ("http") instead of insisting on "https".
/// </summary>
internal static class H2cPriorKnowledge
{
    // RFC 9113 §3.4: every HTTP/2 connection starts with these 24 octets.
    private static readonly byte[] s_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public static Func<ConnectionDelegate, ConnectionDelegate> Middleware { get; } = next => async connection =>
    {
        if (!await StartsWithPrefaceAsync(connection.Transport.Input, connection.ConnectionClosed).ConfigureAwait(false))
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        connection.Features.Set<ITlsApplicationProtocolFeature>(PriorKnowledgeFeature.Instance);
        connection.Features.Set<ITlsConnectionFeature>(PriorKnowledgeFeature.Instance);
        IDuplexPipe transport = connection.Transport;
        var rewriter = new Http2AuthorityRewriter(transport.Input);
        connection.Transport = new DuplexPipe(rewriter.Output, transport.Output);
        Task pump = rewriter.RunAsync();
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            // Kestrel is done with the connection: stop reading the socket for it.
            transport.Input.CancelPendingRead();
            await pump.ConfigureAwait(false);
            connection.Transport = transport;
        }
    };

    private sealed class DuplexPipe : IDuplexPipe
    {
        public DuplexPipe(PipeReader input, PipeWriter output)
        {
            Input = input;
            Output = output;
        }

        public PipeReader Input { get; }

        public PipeWriter Output { get; }
    }

    private static async Task<bool> StartsWithPrefaceAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            bool matches = MatchesPreface(buffer, out int length);
            if (!matches || length == s_preface.Length || result.IsCompleted || result.IsCanceled)
            {
                // Consume and examine nothing: Kestrel's own read returns these bytes at once.
                input.AdvanceTo(buffer.Start);
                return matches && length == s_preface.Length;
            }

            // A prefix of the preface so far: wait for more bytes.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool MatchesPreface(ReadOnlySequence<byte> buffer, out int length)
    {
        length = (int)Math.Min(buffer.Length, s_preface.Length);
        Span<byte> head = stackalloc byte[s_preface.Length];
        buffer.Slice(0, length).CopyTo(head);
        return head[..length].SequenceEqual(s_preface.AsSpan(0, length));
    }

    private sealed class PriorKnowledgeFeature : ITlsApplicationProtocolFeature, ITlsConnectionFeature
    {
        public static PriorKnowledgeFeature Instance { get; } = new();

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();

        public X509Certificate2? ClientCertificate
        {
            get => null;
            set => throw new NotSupportedException("no TLS on a prior-knowledge HTTP/2 connection");
        }

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);
    }
}
