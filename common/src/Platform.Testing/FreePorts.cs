using System.Net;
using System.Net.Sockets;

namespace Platform.Testing;

/// <summary>
/// TCP/UDP ports for tests that start servers. Test assemblies run in parallel processes, so a port
/// that is merely free now could be taken by a sibling before the server binds it; each port handed
/// out is therefore also claimed with an exclusive lock file under <c>/tmp/platform-test-ports</c>,
/// held until this process exits. Ports come from 20000-32767, below Linux's ephemeral range
/// (32768-60999), so the kernel never hands them to outgoing connections.
/// </summary>
public static class FreePorts
{
    private const int FirstPort = 20000;
    private const int PortCount = 12768;
    private static readonly string s_lockDirectory = Path.Combine(Path.GetTempPath(), "platform-test-ports");
    private static readonly List<FileStream> s_claims = [];
    private static readonly Lock s_lock = new();

    /// <summary>One port free on 127.0.0.1 for TCP and UDP, and claimed by this process.</summary>
    public static int Next() => Next(1)[0];

    /// <summary><paramref name="count"/> distinct claimed ports.</summary>
    public static int[] Next(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Directory.CreateDirectory(s_lockDirectory);
        var ports = new int[count];
        lock (s_lock)
        {
            for (int n = 0; n < count; n++)
            {
                ports[n] = ClaimOne();
            }
        }

        return ports;
    }

    private static int ClaimOne()
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int port = FirstPort + Random.Shared.Next(PortCount);
            FileStream? claim = TryClaim(port);
            if (claim is null)
            {
                continue;
            }

            if (IsBindable(port))
            {
                s_claims.Add(claim);
                return port;
            }

            claim.Dispose();
        }

        throw new InvalidOperationException($"no free port found in {FirstPort}-{FirstPort + PortCount - 1} after 1000 attempts");
    }

    private static FileStream? TryClaim(int port)
    {
        try
        {
            // FileShare.None takes an exclusive flock(2) on Unix: released when the process dies.
            return new FileStream(Path.Combine(s_lockDirectory, $"{port}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsBindable(int port)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
