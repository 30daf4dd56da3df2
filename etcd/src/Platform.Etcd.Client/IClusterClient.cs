namespace Platform.Etcd.Client;

/// <summary>A member; <see cref="Name"/> and <see cref="ClientUrls"/> are empty until an added member has started.</summary>
public sealed record Member(ulong Id, string Name, IReadOnlyList<string> PeerUrls, IReadOnlyList<string> ClientUrls, bool IsLearner);

public sealed record MemberListResult(ResponseHeader Header, IReadOnlyList<Member> Members);

public sealed record MemberAddResult(ResponseHeader Header, Member Member, IReadOnlyList<Member> Members);

/// <summary>
/// The Cluster service. Membership changes are writes (never retried after reaching a server);
/// <see cref="MemberListAsync"/> is a read.
/// </summary>
public interface IClusterClient
{
    public Task<MemberListResult> MemberListAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a member (a non-voting learner when <paramref name="isLearner"/>) that will join at <paramref name="peerUrls"/>.</summary>
    public Task<MemberAddResult> MemberAddAsync(IReadOnlyList<string> peerUrls, bool isLearner = false, CancellationToken cancellationToken = default);

    /// <summary>Removes a member; returns the remaining members.</summary>
    public Task<MemberListResult> MemberRemoveAsync(ulong id, CancellationToken cancellationToken = default);

    /// <summary>Changes a member's peer URLs.</summary>
    public Task<MemberListResult> MemberUpdateAsync(ulong id, IReadOnlyList<string> peerUrls, CancellationToken cancellationToken = default);

    /// <summary>Makes a learner a voting member; etcd refuses while the learner is not in sync with the leader.</summary>
    public Task<MemberListResult> MemberPromoteAsync(ulong id, CancellationToken cancellationToken = default);
}
