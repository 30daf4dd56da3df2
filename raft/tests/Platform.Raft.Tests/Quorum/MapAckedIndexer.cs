using Platform.Raft.Quorum;

namespace Platform.Raft.Tests.Quorum;

/// <summary>An <see cref="IAckedIndexer"/> over a dictionary; absent ids are unknown.</summary>
internal sealed class MapAckedIndexer(IReadOnlyDictionary<ulong, ulong> acked) : IAckedIndexer
{
    public bool TryGetAckedIndex(ulong voterId, out ulong index) => acked.TryGetValue(voterId, out index);
}
