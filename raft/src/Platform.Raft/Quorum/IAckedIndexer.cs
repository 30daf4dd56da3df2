namespace Platform.Raft.Quorum;

/// <summary>
/// Looks up the log index a voter has acknowledged (for the leader: the voter's <c>Match</c>).
/// </summary>
internal interface IAckedIndexer
{
    /// <summary>
    /// Returns false when nothing is known about <paramref name="voterId"/>, which a quorum treats
    /// as "acked nothing yet" (index 0); returns true with the acked index otherwise.
    /// </summary>
    public bool TryGetAckedIndex(ulong voterId, out ulong index);
}
