using Platform.Etcd.Api;
using Platform.Etcd.Server.Membership;
using Platform.Raft;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    // etcd's HealthInterval: how long peers must have been connected for a reconfiguration.
    private static readonly TimeSpan s_healthInterval = TimeSpan.FromSeconds(5);

    public async ValueTask<MemberAddResponse> MemberAddAsync(MemberAddRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckAdmin(context);
        if (request.PeerURLs.Count == 0)
        {
            throw EtcdErrors.MemberBadUrls;
        }

        try
        {
            foreach (string url in request.PeerURLs)
            {
                MemberIds.ValidateUrl(url);
            }
        }
        catch (ArgumentException)
        {
            throw EtcdErrors.MemberBadUrls;
        }

        if (!request.IsLearner && !IsReadyToAddVotingMember())
        {
            throw NotEnoughStartedMembers;
        }

        // etcd 3.4 asks this of learners too: every voter connected for the health interval.
        if (!IsConnectedFully())
        {
            throw EtcdErrors.UnhealthyCluster;
        }

        ulong id = MemberIds.ComputeMemberId(request.PeerURLs, string.Empty, _time.GetUtcNow());
        var context2 = new ConfChangeContext { Id = id, PeerUrls = [.. request.PeerURLs.Order(StringComparer.Ordinal)], IsLearner = request.IsLearner };
        var change = new ConfChange
        {
            Type = request.IsLearner ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode,
            NodeId = id,
            Context = context2.ToByteString(),
        };
        await ProposeConfChangeAsync(change, cancellationToken).ConfigureAwait(false);
        var member = new Member { ID = id, IsLearner = request.IsLearner };
        member.PeerURLs.AddRange(context2.PeerUrls);
        var response = new MemberAddResponse { Header = ClusterHeader(), Member = member };
        response.Members.AddRange(_membership.List());
        return response;
    }

    public async ValueTask<MemberRemoveResponse> MemberRemoveAsync(MemberRemoveRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckAdmin(context);
        Member target = _membership.Get(request.ID) ?? throw EtcdErrors.MemberNotFound;
        if (!target.IsLearner)
        {
            CheckMayRemoveVoter(request.ID);
        }

        await ProposeConfChangeAsync(new ConfChange { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = request.ID }, cancellationToken).ConfigureAwait(false);
        var response = new MemberRemoveResponse { Header = ClusterHeader() };
        response.Members.AddRange(_membership.List());
        return response;
    }

    public async ValueTask<MemberUpdateResponse> MemberUpdateAsync(MemberUpdateRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckAdmin(context);
        try
        {
            foreach (string url in request.PeerURLs)
            {
                MemberIds.ValidateUrl(url);
            }
        }
        catch (ArgumentException)
        {
            throw EtcdErrors.MemberBadUrls;
        }

        var change = new ConfChange
        {
            Type = ConfChangeType.ConfChangeUpdateNode,
            NodeId = request.ID,
            Context = new ConfChangeContext { Id = request.ID, PeerUrls = [.. request.PeerURLs.Order(StringComparer.Ordinal)] }.ToByteString(),
        };
        await ProposeConfChangeAsync(change, cancellationToken).ConfigureAwait(false);
        var response = new MemberUpdateResponse { Header = ClusterHeader() };
        response.Members.AddRange(_membership.List());
        return response;
    }

    public async ValueTask<MemberListResponse> MemberListAsync(MemberListRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Linearizable)
        {
            await LinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        }

        var response = new MemberListResponse { Header = ClusterHeader() };
        response.Members.AddRange(_membership.List());
        return response;
    }

    public async ValueTask<MemberPromoteResponse> MemberPromoteAsync(MemberPromoteRequest request, RequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckAdmin(context);
        if (!IsLeader)
        {
            // etcd 3.4 forwards a promote to the leader (its peer /members/promote).
            MemberPromoteResponse forwarded = await ForwardToLeaderAsync(MemberPromoteKind, request, MemberPromoteResponse.Parser, cancellationToken).ConfigureAwait(false);
            forwarded.Header = ClusterHeader();
            return forwarded;
        }

        Member member = _membership.Get(request.ID) ?? throw EtcdErrors.MemberNotFound;
        if (!member.IsLearner)
        {
            throw EtcdErrors.MemberNotLearner;
        }

        if (!await IsLearnerReadyAsync(request.ID).ConfigureAwait(false))
        {
            throw EtcdErrors.LearnerNotReady;
        }

        var change = new ConfChange
        {
            Type = ConfChangeType.ConfChangeAddNode,
            NodeId = request.ID,
            Context = new ConfChangeContext { Id = request.ID, PeerUrls = [.. member.PeerURLs], Name = member.Name, IsPromote = true }.ToByteString(),
        };
        await ProposeConfChangeAsync(change, cancellationToken).ConfigureAwait(false);
        var response = new MemberPromoteResponse { Header = ClusterHeader() };
        response.Members.AddRange(_membership.List());
        return response;
    }

    /// <summary>etcd's isLearnerReady: the learner's match index is at least 90% of the leader's.</summary>
    private async Task<bool> IsLearnerReadyAsync(ulong learner)
    {
        var status = new TaskCompletionSource<RaftStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new Raft.ActionInput(node => status.TrySetResult(node.Status())));
        RaftStatus s = await status.Task.ConfigureAwait(false);
        if (!s.Progress.TryGetValue(learner, out ProgressStatus? progress) || !s.Progress.TryGetValue(s.Id, out ProgressStatus? leader))
        {
            return false;
        }

        return leader.Match == 0 || (double)progress.Match / leader.Match >= 0.9;
    }

    /// <summary>etcd's IsReadyToAddVotingMember (strict reconfig check): a quorum of the new configuration has started.</summary>
    private bool IsReadyToAddVotingMember()
    {
        IReadOnlyList<Member> voters = [.. _membership.List().Where(m => !m.IsLearner)];
        int members = voters.Count + 1;
        int started = voters.Count(m => m.Name.Length > 0);
        if (started == 1 && members == 2)
        {
            // Growing a one-member cluster (etcd's restore procedure) is allowed.
            return true;
        }

        return started >= (members / 2) + 1;
    }

    private static EtcdException NotEnoughStartedMembers => new(EtcdErrorCode.FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members");

    /// <summary>etcd's isConnectedFullySince: every other voter's stream has worked for the health interval (5 s).</summary>
    private bool IsConnectedFully()
    {
        DateTimeOffset since = _time.GetUtcNow() - s_healthInterval;
        // Every voter is asked (no short cut): asking is what starts a stream the transport lacks.
        List<DateTimeOffset?> active = [.. _membership.VoterIds().Where(id => id != MemberId).Select(_transport.ActiveSince)];
        return active.All(t => t is { } started && started <= since);
    }

    /// <summary>etcd's mayRemoveMember (strict reconfig check): removing a connected voter must leave a connected quorum.</summary>
    private void CheckMayRemoveVoter(ulong id)
    {
        IReadOnlyList<ulong> voters = _membership.VoterIds();
        if (voters.Count <= 1)
        {
            // etcd's IsReadyToRemoveVotingMember: the last voter cannot be removed.
            if (voters.Count == 1 && voters[0] == id)
            {
                throw NotEnoughStartedMembers;
            }

            return;
        }

        if (id != MemberId && _transport.ActiveSince(id) is null)
        {
            // A member that is down is not part of the active quorum: safe to remove.
            return;
        }

        DateTimeOffset since = _time.GetUtcNow() - s_healthInterval;
        int active = voters.Count(v => v == MemberId || (_transport.ActiveSince(v) is { } t && t <= since));
        if (active - 1 < 1 + ((voters.Count - 1) / 2))
        {
            throw EtcdErrors.UnhealthyCluster;
        }
    }

    // etcd 3.4's ClusterServer.header(): cluster id, member id and raft term, but no revision.
    private ResponseHeader ClusterHeader() => new() { ClusterId = ClusterId, MemberId = MemberId, RaftTerm = RaftTerm };
}
