using System.Threading.Channels;
using Platform.Linux.Netns;
using static Tmds.Linux.LibC;

namespace Platform.Linux.Netlink;

/// <summary>Opens rtnetlink handles and link-event subscriptions, per network namespace.</summary>
public static class RtNetlink
{
    /// <summary>A handle for the calling thread's network namespace.</summary>
    public static IRtNetlink Open() => new RtNetlinkClient(NetlinkSocket.Open());

    /// <summary>A handle bound to <paramref name="ns"/> for its whole life, usable from any thread.</summary>
    public static IRtNetlink Open(NetworkNamespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return ns.Run(Open);
    }

    /// <summary>
    /// Subscribes to RTNLGRP_LINK of <paramref name="ns"/> (the caller's when null): every RTM_NEWLINK /
    /// RTM_DELLINK the kernel multicasts from now on arrives on <see cref="LinkEventSubscription.Events"/>.
    /// </summary>
    public static LinkEventSubscription SubscribeLinkEvents(NetworkNamespace? ns = null)
    {
        NetlinkSocket socket = ns is null ? NetlinkSocket.Open(Nl.RtmgrpLink) : ns.Run(() => NetlinkSocket.Open(Nl.RtmgrpLink));
        return new LinkEventSubscription(socket);
    }
}

/// <summary>
/// Link events of one namespace, read by a background thread until <see cref="Dispose"/>. When the
/// kernel reports an overflow (ENOBUFS: events were lost) a synthetic event with
/// <see cref="LinkEventType.Overflow"/> is delivered so consumers re-check what they care about.
/// </summary>
public sealed class LinkEventSubscription : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly Channel<LinkEvent> _events = Channel.CreateUnbounded<LinkEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Thread _reader;
    private volatile bool _stopped;

    internal LinkEventSubscription(NetlinkSocket socket)
    {
        _socket = socket;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "rtnetlink-link-events" };
        _reader.Start();
    }

    public ChannelReader<LinkEvent> Events => _events.Reader;

    public void Dispose()
    {
        _stopped = true;
        if (Thread.CurrentThread != _reader)
        {
            _reader.Join();
        }

        _socket.Dispose();
    }

    private void ReadLoop()
    {
        try
        {
            while (!_stopped)
            {
                List<NetlinkMessage>? messages;
                try
                {
                    // 100 ms: how long Dispose waits at most for this thread.
                    messages = _socket.ReceiveEvents(100);
                }
                catch (LinuxException e) when (e.Errno == ENOBUFS)
                {
                    _events.Writer.TryWrite(new LinkEvent(LinkEventType.Overflow, new Link(0, "", 0, 0, null, null, 0, null)));
                    continue;
                }

                foreach (NetlinkMessage m in messages ?? [])
                {
                    if (m.Type is Nl.RtmNewLink or Nl.RtmDelLink && m.Payload.Length >= Nl.IfInfoMsgLength)
                    {
                        _events.Writer.TryWrite(new LinkEvent(m.Type == Nl.RtmNewLink ? LinkEventType.NewOrChanged : LinkEventType.Deleted, RtNetlinkClient.ParseLink(m.Payload)));
                    }
                }
            }

            _events.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _events.Writer.TryComplete(e);
        }
    }
}
