using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Platform.Kola.Units;

/// <summary>
/// A control channel so separate processes (the <c>systemctl</c>/<c>journalctl</c> shims inside the machine,
/// and the harness) reach the manager: a unix socket server + client, one request per connection
/// (JSON: <c>{"tool":"systemctl"|"journalctl","args":[...]}</c> → <c>{"exitCode":..,"stdout":..,"stderr":..}</c>).
/// The client half-closes its side after the request; the server answers and closes.
/// </summary>
public static class UnitControl
{
    private const int MaxRequestBytes = 1 << 20;

    /// <summary>Listens on <paramref name="socketPath"/> (replacing a stale socket file) until disposed.</summary>
    public static IAsyncDisposable Serve(IUnitManager manager, string socketPath)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        return new ControlServer(manager, socketPath);
    }

    /// <summary>Sends one request and returns the manager's answer.</summary>
    /// <exception cref="IOException">The socket is unreachable or the answer is malformed.</exception>
    public static async Task<ControlResult> CallAsync(string socketPath, string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(arguments);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            // A blocking connect (immediate for a unix socket) while the descriptor behind a long path is held.
            _ = SocketPath.With(socketPath, endPoint =>
            {
                socket.Connect(endPoint);
                return true;
            });
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot reach the unit manager at {socketPath}: {e.Message}", e);
        }

        var request = new JsonObject
        {
            ["tool"] = tool,
            ["args"] = new JsonArray([.. arguments.Select(a => (JsonNode?)JsonValue.Create(a))]),
        };
        byte[] payload = Encoding.UTF8.GetBytes(request.ToJsonString());
        await socket.SendAsync(payload, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);
        byte[] answer = await ReadToEndAsync(socket, cancellationToken).ConfigureAwait(false);
        try
        {
            JsonNode? node = JsonNode.Parse(answer);
            return new ControlResult(
                node?["exitCode"]?.GetValue<int>() ?? throw new IOException("answer without exitCode"),
                node["stdout"]?.GetValue<string>() ?? string.Empty,
                node["stderr"]?.GetValue<string>() ?? string.Empty);
        }
        catch (JsonException e)
        {
            throw new IOException($"malformed answer from the unit manager at {socketPath}: {e.Message}", e);
        }
    }

    internal static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        while (true)
        {
            int n = await socket.ReceiveAsync(chunk, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + n > MaxRequestBytes * 64L)
            {
                throw new IOException("message too large");
            }

            buffer.Write(chunk, 0, n);
        }
    }

    private sealed class ControlServer : IAsyncDisposable
    {
        private readonly IUnitManager _manager;
        private readonly string _path;
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stopping = new();
        private readonly Task _acceptLoop;

        public ControlServer(IUnitManager manager, string path)
        {
            _manager = manager;
            _path = path;
            if (Path.GetDirectoryName(path) is { Length: > 0 } directory)
            {
                Directory.CreateDirectory(directory);
            }

            if (File.Exists(path))
            {
                File.Delete(path);
            }

            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _ = SocketPath.With(path, endPoint =>
            {
                _listener.Bind(endPoint);
                return true;
            });
            _listener.Listen(64);
            _acceptLoop = AcceptLoopAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            _listener.Dispose();
            try
            {
                await _acceptLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _stopping.Dispose();
            try
            {
                File.Delete(_path);
            }
            catch (IOException)
            {
            }
        }

        private async Task AcceptLoopAsync()
        {
            while (!_stopping.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    return;
                }

                _ = Task.Run(() => HandleAsync(client));
            }
        }

        private async Task HandleAsync(Socket client)
        {
            using (client)
            {
                ControlResult result;
                try
                {
                    byte[] request = await ReadToEndAsync(client, _stopping.Token).ConfigureAwait(false);
                    result = await DispatchAsync(request).ConfigureAwait(false);
                }
                catch (Exception e) when (e is JsonException or FormatException)
                {
                    result = new ControlResult(1, string.Empty, $"bad control request: {e.Message}\n");
                }
                catch (OperationCanceledException)
                {
                    return;
                }
#pragma warning disable CA1031 // The caller gets every failure as an answer; the server must keep serving.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    result = new ControlResult(1, string.Empty, $"{e.GetType().Name}: {e.Message}\n");
                }

                var answer = new JsonObject
                {
                    ["exitCode"] = result.ExitCode,
                    ["stdout"] = result.StandardOutput,
                    ["stderr"] = result.StandardError,
                };
                try
                {
                    await client.SendAsync(Encoding.UTF8.GetBytes(answer.ToJsonString()), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                    client.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                }
            }
        }

        private async Task<ControlResult> DispatchAsync(byte[] request)
        {
            JsonNode node = JsonNode.Parse(request) ?? throw new FormatException("empty request");
            string tool = node["tool"]?.GetValue<string>() ?? throw new FormatException("no \"tool\"");
            JsonArray args = node["args"] as JsonArray ?? [];
            string[] arguments = [.. args.Select(a => a?.GetValue<string>() ?? throw new FormatException("null argument"))];
            return tool switch
            {
                "systemctl" => await _manager.SystemctlAsync(arguments, _stopping.Token).ConfigureAwait(false),
                "journalctl" => await _manager.JournalctlAsync(arguments, _stopping.Token).ConfigureAwait(false),
                _ => new ControlResult(1, string.Empty, $"unknown tool \"{tool}\"\n"),
            };
        }
    }
}
