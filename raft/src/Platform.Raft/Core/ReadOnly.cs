using System.Buffers.Binary;
using Google.Protobuf;
using Platform.Raft.Quorum;

namespace Platform.Raft;

/// <summary>A read request waiting for its heartbeat round, and the commit index it will be answered with.</summary>
internal sealed record ReadIndexRequest(Message Request, ulong Index);

/// <summary>
/// The leader's queue of ReadIndex requests under <see cref="ReadOnlyOption.Safe"/> (etcd-io/raft
/// v3.7, PR #397). Heartbeats carry no request context but a position in the queue: the number of
/// requests ever queued at send time, 8 bytes little-endian. A follower echoes it, and once a
/// quorum of voters echoed position p, the first p requests are confirmed: this leader was still
/// leader after they arrived. Positions only grow within a term, so a delayed or duplicated
/// response, or a retried request with a reused context, can never confirm a later read.
/// </summary>
internal sealed class ReadOnly : IAckedIndexer
{
    private readonly Dictionary<ulong, ulong> _acks = [];
    private readonly Queue<ReadIndexRequest> _unconfirmed = new();

    // Requests confirmed and removed from the queue so far.
    private ulong _confirmedReads;

    public ReadOnly(ReadOnlyOption option)
    {
        Option = option;
    }

    public ReadOnlyOption Option { get; }

    public int PendingCount => _unconfirmed.Count;

    /// <summary>Queues <paramref name="request"/>, to be answered with <paramref name="commitIndex"/> once confirmed.</summary>
    public void AddRequest(ulong commitIndex, Message request) => _unconfirmed.Enqueue(new ReadIndexRequest(request, commitIndex));

    /// <summary>Records that <paramref name="from"/> echoed the queue position in <paramref name="context"/>.</summary>
    public void ReceiveAck(ulong from, ByteString context)
    {
        if (context.Length != sizeof(ulong))
        {
            // Not a position we sent (an older peer echoing a request context): ignore.
            return;
        }

        ulong position = BinaryPrimitives.ReadUInt64LittleEndian(context.Span);
        if (!_acks.TryGetValue(from, out ulong previous) || position > previous)
        {
            _acks[from] = position;
        }
    }

    public bool TryGetAckedIndex(ulong voterId, out ulong index) => _acks.TryGetValue(voterId, out index);

    /// <summary>The requests a quorum of <paramref name="voters"/> confirmed since the last call, in order; null if none.</summary>
    public List<ReadIndexRequest>? MaybeAdvance(JointConfig voters)
    {
        ulong newConfirmed = voters.CommittedIndex(this);
        ulong total = _confirmedReads + (ulong)_unconfirmed.Count;
        newConfirmed = Math.Min(newConfirmed, total);
        if (newConfirmed <= _confirmedReads)
        {
            return null;
        }

        var confirmed = new List<ReadIndexRequest>((int)(newConfirmed - _confirmedReads));
        while (_confirmedReads < newConfirmed)
        {
            confirmed.Add(_unconfirmed.Dequeue());
            _confirmedReads++;
        }

        return confirmed;
    }

    /// <summary>The context that, echoed by a quorum, confirms every queued request; empty when none is queued.</summary>
    public ByteString HeartbeatContext()
    {
        if (_unconfirmed.Count == 0)
        {
            return ByteString.Empty;
        }

        Span<byte> position = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(position, _confirmedReads + (ulong)_unconfirmed.Count);
        return ByteString.CopyFrom(position);
    }
}
