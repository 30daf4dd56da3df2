using System.Buffers.Binary;
using Google.Protobuf;

namespace Platform.Raft.Simulation;

/// <summary>
/// The replicated state machine of a simulated node: a running hash of every applied normal
/// entry. Two nodes that applied the same entries in the same order have equal hashes, which is
/// what state-machine safety demands. Volatile: a crash loses it and a restart rebuilds it from
/// the snapshot and the replayed log.
/// </summary>
internal sealed class SimulatedStateMachine
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public ulong AppliedIndex { get; private set; }

    public ulong StateHash { get; private set; } = FnvOffset;

    public ConfState ConfState { get; set; } = new();

    public void Apply(Entry entry)
    {
        if (entry.Index != AppliedIndex + 1)
        {
            throw new SimulationFailureException($"applied index {entry.Index} after {AppliedIndex}: a gap or a repeat");
        }

        AppliedIndex = entry.Index;
        if (entry.Type == EntryType.EntryNormal && !entry.Data.IsEmpty)
        {
            StateHash = Mix(StateHash, entry.Data.Span);
        }
    }

    public ByteString Snapshot()
    {
        var data = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(data, AppliedIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), StateHash);
        return ByteString.CopyFrom(data);
    }

    public void Restore(Snapshot snapshot)
    {
        ReadOnlySpan<byte> data = snapshot.Data.Span;
        if (data.Length == 0)
        {
            // The bootstrap state: nothing applied yet.
            AppliedIndex = snapshot.Metadata.Index;
            StateHash = FnvOffset;
        }
        else
        {
            AppliedIndex = BinaryPrimitives.ReadUInt64LittleEndian(data);
            StateHash = BinaryPrimitives.ReadUInt64LittleEndian(data[8..]);
            if (AppliedIndex != snapshot.Metadata.Index)
            {
                throw new SimulationFailureException($"snapshot at index {snapshot.Metadata.Index} holds state of index {AppliedIndex}");
            }
        }

        ConfState = snapshot.Metadata.ConfState?.Clone() ?? new ConfState();
    }

    public static ulong Mix(ulong hash, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return hash;
    }
}
