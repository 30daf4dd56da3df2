using System.Buffers.Binary;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Platform.Linux.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket: request/ACK and dumps matched by sequence number. The socket belongs to the
/// network namespace of the thread that created it, for its whole life.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    private const int NetlinkRoute = 0;

    // A dump part is at most ~32 KiB (NLMSG_GOODSIZE-based); larger ones are sized with MSG_PEEK|MSG_TRUNC.
    private byte[] _buffer = new byte[64 * 1024];
    private readonly Lock _lock = new();
    private int _fd;
    private uint _sequence = (uint)Environment.TickCount;

    private NetlinkSocket(int fd)
    {
        _fd = fd;
    }

    public int FileDescriptor => _fd;

    /// <summary>Opens a socket in the calling thread's network namespace, subscribed to <paramref name="groups"/> (RTMGRP_* bits).</summary>
    public static NetlinkSocket Open(uint groups = 0)
    {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NetlinkRoute);
        if (fd < 0)
        {
            throw new LinuxException("socket(AF_NETLINK, NETLINK_ROUTE)", errno);
        }

        // struct sockaddr_nl: family u16, pad u16, pid u32 (0: the kernel assigns one), groups u32.
        byte* address = stackalloc byte[12];
        new Span<byte>(address, 12).Clear();
        *(ushort*)address = (ushort)AF_NETLINK;
        *(uint*)(address + 8) = groups;
        if (bind(fd, (sockaddr*)address, 12) != 0)
        {
            int e = errno;
            _ = close(fd);
            throw new LinuxException("bind(AF_NETLINK)", e);
        }

        return new NetlinkSocket(fd);
    }

    /// <summary>
    /// Sends one request (non-dump requests must carry NLM_F_ACK) and returns the answers: for a dump
    /// every part up to NLMSG_DONE (restarted when the kernel flags NLM_F_DUMP_INTR), otherwise the
    /// replies before the ACK. An NLMSG_ERROR throws <see cref="LinuxException"/> named <paramref name="operation"/>.
    /// </summary>
    public List<NetlinkMessage> Request(NetlinkWriter request, string operation)
    {
        lock (_lock)
        {
            for (int attempt = 0; ; attempt++)
            {
                uint sequence = ++_sequence;
                Send(request.ToArray(sequence), operation);
                (List<NetlinkMessage> answers, bool interrupted) = ReceiveAnswers(sequence, operation);
                if (!interrupted || attempt >= 10)
                {
                    return answers;
                }
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a datagram (multicast events); null on timeout.</summary>
    public List<NetlinkMessage>? ReceiveEvents(int timeoutMs)
    {
        pollfd p = default;
        p.fd = _fd;
        p.events = POLLIN;
        int ready = poll(&p, 1, timeoutMs);
        if (ready < 0)
        {
            return errno == EINTR ? null : throw new LinuxException("poll(netlink)", errno);
        }

        return ready == 0 ? null : NetlinkMessage.ParseAll(Receive("recv(netlink events)"));
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    private (List<NetlinkMessage> Answers, bool Interrupted) ReceiveAnswers(uint sequence, string operation)
    {
        var answers = new List<NetlinkMessage>();
        bool interrupted = false;
        while (true)
        {
            foreach (NetlinkMessage message in NetlinkMessage.ParseAll(Receive(operation)))
            {
                if (message.Sequence != sequence)
                {
                    // A late answer to an earlier request that failed half-way; not ours.
                    continue;
                }

                interrupted |= (message.Flags & Nl.FDumpIntr) != 0;
                switch (message.Type)
                {
                    case Nl.Error:
                        int error = message.Payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(message.Payload.Span) : -EIO;
                        if (error != 0)
                        {
                            throw new LinuxException(operation, -error);
                        }

                        return (answers, interrupted);
                    case Nl.Done:
                        int status = message.Payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(message.Payload.Span) : 0;
                        if (status < 0)
                        {
                            throw new LinuxException(operation, -status);
                        }

                        return (answers, interrupted);
                    case Nl.Noop:
                        break;
                    default:
                        answers.Add(message);
                        break;
                }
            }
        }
    }

    private void Send(byte[] message, string operation)
    {
        fixed (byte* p = message)
        {
            while (true)
            {
                // Unconnected netlink sockets send to port 0: the kernel.
                long sent = send(_fd, p, message.Length, 0);
                if (sent >= 0)
                {
                    return;
                }

                if (errno != EINTR)
                {
                    throw new LinuxException(operation, errno);
                }
            }
        }
    }

    private ReadOnlyMemory<byte> Receive(string operation)
    {
        while (true)
        {
            long size;
            fixed (byte* p = _buffer)
            {
                // Peek with MSG_TRUNC: the real datagram length, so the buffer can grow first.
                size = recv(_fd, p, _buffer.Length, MSG_PEEK | MSG_TRUNC);
            }

            if (size < 0)
            {
                if (errno == EINTR)
                {
                    continue;
                }

                throw new LinuxException(operation, errno);
            }

            if (size > _buffer.Length)
            {
                _buffer = new byte[size];
            }

            fixed (byte* p = _buffer)
            {
                size = recv(_fd, p, _buffer.Length, 0);
            }

            if (size < 0)
            {
                if (errno == EINTR)
                {
                    continue;
                }

                throw new LinuxException(operation, errno);
            }

            return _buffer.AsMemory(0, (int)size).ToArray();
        }
    }
}
