using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Platform.Kola.Netns.Flight;

/// <summary>
/// The flight's image server: HTTP/1.1 GET and HEAD of the files in one directory (no listing, no
/// subdirectories), e.g. <c>rkt fetch http://10.200.0.1:8080/busybox.aci</c> from a machine.
/// One request per connection (<c>Connection: close</c>).
/// </summary>
internal sealed class FileServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly string _directory;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public FileServer(Socket listener, string directory)
    {
        _listener = listener;
        _directory = directory;
        _accepting = AcceptAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(TimeSpan.FromMinutes(2));
        await using var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            string? requestLine = await ReadHeadAsync(stream, cts.Token).ConfigureAwait(false);
            string[] parts = requestLine?.Split(' ') ?? [];
            if (parts.Length != 3 || parts[0] is not ("GET" or "HEAD"))
            {
                await RespondAsync(stream, 400, "Bad Request", null, cts.Token).ConfigureAwait(false);
                return;
            }

            string name = Uri.UnescapeDataString(parts[1].Split('?')[0].TrimStart('/'));
            string path = Path.Join(_directory, name);
            if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.StartsWith('.') || !File.Exists(path))
            {
                await RespondAsync(stream, 404, "Not Found", null, cts.Token).ConfigureAwait(false);
                return;
            }

            await RespondAsync(stream, 200, "OK", parts[0] == "GET" ? path : null, cts.Token, new FileInfo(path).Length).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The client went away or took too long; nothing to keep.
        }
    }

    private static async Task RespondAsync(Stream stream, int status, string reason, string? file, CancellationToken cancellationToken, long length = 0)
    {
        string head = string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {status} {reason}\r\nContent-Length: {(status == 200 ? length : 0)}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken).ConfigureAwait(false);
        if (file is not null)
        {
            await using FileStream content = File.OpenRead(file);
            await content.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the request head (up to 16 KiB) and returns its first line.</summary>
    private static async Task<string?> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[16 * 1024];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return null;
            }

            filled += n;
            string text = Encoding.ASCII.GetString(buffer, 0, filled);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                return text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
            }
        }

        return null;
    }
}
