namespace Platform.Raft.Quorum;

/// <summary>The outcome of counting votes against a quorum configuration.</summary>
internal enum VoteResult
{
    /// <summary>Neither a quorum of yes nor a quorum of no votes has been reached yet.</summary>
    Pending = 1,

    /// <summary>A quorum can no longer vote yes.</summary>
    Lost,

    /// <summary>A quorum voted yes.</summary>
    Won,
}
