namespace Platform.Raft;

/// <summary>Small predicates on raft's protobuf types (etcd's IsEmptyHardState, IsEmptySnap, ...).</summary>
public static class RaftHelpers
{
    /// <summary>A HardState with every field 0: nothing persisted yet.</summary>
    public static bool IsEmptyHardState(HardState? hardState) =>
        hardState is null || (hardState.Term == 0 && hardState.Vote == 0 && hardState.Commit == 0);

    /// <summary>A snapshot with index 0: no snapshot.</summary>
    public static bool IsEmptySnapshot(Snapshot? snapshot) => snapshot?.Metadata is null || snapshot.Metadata.Index == 0;

    /// <summary>
    /// Whether persisting a HardState change from <paramref name="previous"/> to
    /// <paramref name="current"/> plus <paramref name="entryCount"/> entries needs an fsync: term,
    /// vote and entries must be durable before responding to RPCs (Raft Figure 2); the commit
    /// index need not be.
    /// </summary>
    public static bool MustSync(HardState current, HardState previous, int entryCount)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(previous);
        return entryCount != 0 || current.Vote != previous.Vote || current.Term != previous.Term;
    }
}
