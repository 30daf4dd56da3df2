using Platform.Raft.Quorum;
using Platform.Raft.Tracker;

namespace Platform.Raft;

internal sealed partial class Raft
{
    /// <summary>
    /// Advances the state machine with <paramref name="m"/>: first the term rules (a higher term
    /// makes us follower, a lower one is mostly ignored), then the role-specific handling.
    /// </summary>
    /// <exception cref="ProposalDroppedException">A proposal could not be appended or forwarded.</exception>
    public void Step(Message m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.Term == 0)
        {
            // A local message.
        }
        else if (m.Term > Term)
        {
            if (m.Type is MessageType.MsgVote or MessageType.MsgPreVote)
            {
                bool force = m.Context == CampaignTransferContext;
                bool inLease = _checkQuorum && Lead != RaftConstants.None && ElectionElapsed < _electionTimeout;
                if (!force && inLease)
                {
                    // Raft thesis §4.2.3: a server that heard from a current leader within the
                    // minimum election timeout neither updates its term nor grants its vote.
                    (ulong lastIndex, ulong lastTerm) = Log.LastEntryId();
                    _logger.Info($"{Id:x} [logterm: {lastTerm}, index: {lastIndex}, vote: {Vote:x}] ignored {m.Type} from {m.From:x} [logterm: {m.LogTerm}, index: {m.Index}] at term {Term}: lease is not expired (remaining ticks: {_electionTimeout - ElectionElapsed})");
                    return;
                }
            }

            if (m.Type == MessageType.MsgPreVote)
            {
                // Never change the term in response to a PreVote.
            }
            else if (m.Type == MessageType.MsgPreVoteResp && !m.Reject)
            {
                // Pre-votes are requested for a future term; a granted one carries that term, and
                // the term is bumped only once a quorum granted. A rejection carries the
                // rejecter's term and makes us follower below.
            }
            else
            {
                _logger.Info($"{Id:x} [term: {Term}] received a {m.Type} message with higher term from {m.From:x} [term: {m.Term}]");
                BecomeFollower(m.Term, m.Type is MessageType.MsgApp or MessageType.MsgHeartbeat or MessageType.MsgSnap ? m.From : RaftConstants.None);
            }
        }
        else if (m.Term < Term)
        {
            StepLowerTerm(m);
            return;
        }

        switch (m.Type)
        {
            case MessageType.MsgHup:
                Hup(_preVote ? CampaignType.PreElection : CampaignType.Election);
                break;
            case MessageType.MsgStorageAppendResp:
                if (m.Index != 0)
                {
                    Log.StableTo(m.Index, m.LogTerm);
                }

                if (m.Snapshot is not null)
                {
                    AppliedSnapshot(m.Snapshot);
                }

                break;
            case MessageType.MsgStorageApplyResp:
                if (m.Entries.Count > 0)
                {
                    OnEntriesApplied(m.Entries[^1].Index, EntrySizes.EncodedBytes(m.Entries), EntrySizes.PayloadBytes(m.Entries));
                }

                break;
            case MessageType.MsgVote:
            case MessageType.MsgPreVote:
                HandleVoteRequest(m);
                break;
            default:
                switch (State)
                {
                    case StateType.Leader:
                        StepLeader(m);
                        break;
                    case StateType.Candidate:
                    case StateType.PreCandidate:
                        StepCandidate(m);
                        break;
                    default:
                        StepFollower(m);
                        break;
                }

                break;
        }
    }

    private void StepLowerTerm(Message m)
    {
        if ((_checkQuorum || _preVote) && m.Type is MessageType.MsgHeartbeat or MessageType.MsgApp)
        {
            // A leader at a lower term: maybe just a delayed message, or this node advanced its
            // term in a partition and can neither win nor rejoin at the old term. With
            // CheckQuorum or PreVote, votes no longer bump terms, so tell the stale leader our term
            // (it steps down, an election follows). A removed node, which gets no MsgApp, cannot
            // disrupt the cluster this way.
            Send(new Message { To = m.From, Type = MessageType.MsgAppResp });
        }
        else if (m.Type == MessageType.MsgPreVote)
        {
            // A candidate with a higher term but a shorter log may exist from before PreVote was
            // enabled; dropping its pre-votes could deadlock the cluster, so reject explicitly.
            (ulong lastIndex, ulong lastTerm) = Log.LastEntryId();
            _logger.Info($"{Id:x} [logterm: {lastTerm}, index: {lastIndex}, vote: {Vote:x}] rejected {m.Type} from {m.From:x} [logterm: {m.LogTerm}, index: {m.Index}] at term {Term}");
            Send(new Message { To = m.From, Term = Term, Type = MessageType.MsgPreVoteResp, Reject = true });
        }
        else if (m.Type == MessageType.MsgStorageAppendResp)
        {
            if (m.Index != 0)
            {
                // The entries may have been overwritten in the unstable log in a later term (the
                // async-writes ABA race): do not consider them stable.
                _logger.Info($"{Id:x} [term: {Term}] ignored entry appends from a {m.Type} message with lower term [term: {m.Term}]");
            }

            if (m.Snapshot is not null)
            {
                // A snapshot holds committed, term-independent state: its application stands.
                AppliedSnapshot(m.Snapshot);
            }
        }
        else
        {
            _logger.Info($"{Id:x} [term: {Term}] ignored a {m.Type} message with lower term from {m.From:x} [term: {m.Term}]");
        }
    }

    private void StepLeader(Message m)
    {
        // These message types need no progress for m.From.
        switch (m.Type)
        {
            case MessageType.MsgBeat:
                BroadcastHeartbeat();
                return;
            case MessageType.MsgCheckQuorum:
                if (!Tracker.QuorumActive())
                {
                    _logger.Warning($"{Id:x} stepped down to follower since quorum is not active");
                    BecomeFollower(Term, RaftConstants.None);
                }

                // Everyone but us starts the next check as inactive.
                foreach (KeyValuePair<ulong, Progress> entry in Tracker.Progress)
                {
                    if (entry.Key != Id)
                    {
                        entry.Value.RecentActive = false;
                    }
                }

                return;
            case MessageType.MsgProp:
                HandleProposal(m);
                return;
            case MessageType.MsgReadIndex:
                HandleReadIndexAsLeader(m);
                return;
            case MessageType.MsgForgetLeader:
                // A leader knows itself.
                return;
        }

        if (!Tracker.Progress.TryGetValue(m.From, out Progress? pr))
        {
            _logger.Debug($"{Id:x} no progress available for {m.From:x}");
            return;
        }

        switch (m.Type)
        {
            case MessageType.MsgAppResp:
                HandleAppendResponse(m, pr);
                break;
            case MessageType.MsgHeartbeatResp:
                HandleHeartbeatResponse(m, pr);
                break;
            case MessageType.MsgSnapStatus:
                HandleSnapshotStatus(m, pr);
                break;
            case MessageType.MsgUnreachable:
                // While replicating optimistically, an unreachable peer most likely lost a MsgApp.
                if (pr.State == ProgressState.Replicate)
                {
                    pr.BecomeProbe();
                }

                _logger.Debug($"{Id:x} failed to send message to {m.From:x} because it is unreachable [{pr}]");
                break;
            case MessageType.MsgTransferLeader:
                HandleTransferLeader(m, pr);
                break;
        }
    }

    /// <summary>Shared by candidates and pre-candidates; each only counts the responses to its own kind of request.</summary>
    private void StepCandidate(Message m)
    {
        // A candidate may still receive stale MsgPreVoteResp from its pre-candidacy in this term.
        MessageType myVoteResponse = State == StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
        switch (m.Type)
        {
            case MessageType.MsgProp:
                _logger.Info($"{Id:x} no leader at term {Term}; dropping proposal");
                throw new ProposalDroppedException($"{Id:x} no leader at term {Term}; dropping proposal");
            case MessageType.MsgApp:
                BecomeFollower(m.Term, m.From); // m.Term == Term here
                HandleAppendEntries(m);
                break;
            case MessageType.MsgHeartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.MsgSnap:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;
            case MessageType.MsgTimeoutNow:
                _logger.Debug($"{Id:x} [term {Term} state {State}] ignored MsgTimeoutNow from {m.From:x}");
                break;
            default:
                if (m.Type == myVoteResponse)
                {
                    (int granted, int rejected, VoteResult result) = Poll(m.From, m.Type, !m.Reject);
                    _logger.Info($"{Id:x} has received {granted} {m.Type} votes and {rejected} vote rejections");
                    if (result == VoteResult.Won)
                    {
                        if (State == StateType.PreCandidate)
                        {
                            Campaign(CampaignType.Election);
                        }
                        else
                        {
                            BecomeLeader();
                            BroadcastAppend();
                        }
                    }
                    else if (result == VoteResult.Lost)
                    {
                        // A MsgPreVoteResp carries the future term; stay at ours.
                        BecomeFollower(Term, RaftConstants.None);
                    }
                }

                break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.MsgProp:
                if (Lead == RaftConstants.None)
                {
                    _logger.Info($"{Id:x} no leader at term {Term}; dropping proposal");
                    throw new ProposalDroppedException($"{Id:x} no leader at term {Term}; dropping proposal");
                }

                if (_disableProposalForwarding)
                {
                    _logger.Info($"{Id:x} not forwarding to leader {Lead:x} at term {Term}; dropping proposal");
                    throw new ProposalDroppedException($"{Id:x} not forwarding to leader {Lead:x} at term {Term}; dropping proposal");
                }

                Send(CopyForForwarding(m, Lead));
                break;
            case MessageType.MsgApp:
                ElectionElapsed = 0;
                Lead = m.From;
                HandleAppendEntries(m);
                break;
            case MessageType.MsgHeartbeat:
                ElectionElapsed = 0;
                Lead = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.MsgSnap:
                ElectionElapsed = 0;
                Lead = m.From;
                HandleSnapshot(m);
                break;
            case MessageType.MsgTransferLeader:
                if (Lead == RaftConstants.None)
                {
                    _logger.Info($"{Id:x} no leader at term {Term}; dropping leader transfer msg");
                    return;
                }

                Send(CopyForForwarding(m, Lead));
                break;
            case MessageType.MsgForgetLeader:
                if (_readOnly.Option == ReadOnlyOption.LeaseBased)
                {
                    // Forgetting the leader would let another leader be elected while the old one
                    // still serves lease reads.
                    _logger.Error("ignoring MsgForgetLeader due to ReadOnlyLeaseBased");
                    return;
                }

                if (Lead != RaftConstants.None)
                {
                    _logger.Info($"{Id:x} forgetting leader {Lead:x} at term {Term}");
                    Lead = RaftConstants.None;
                }

                break;
            case MessageType.MsgTimeoutNow:
                _logger.Info($"{Id:x} [term {Term}] received MsgTimeoutNow from {m.From:x} and starts an election to get leadership.");

                // Transfers skip pre-vote even when enabled: this is no rejoining partitioned node.
                Hup(CampaignType.Transfer);
                break;
            case MessageType.MsgReadIndex:
                if (Lead == RaftConstants.None)
                {
                    _logger.Info($"{Id:x} no leader at term {Term}; dropping index reading msg");
                    return;
                }

                Send(CopyForForwarding(m, Lead));
                break;
            case MessageType.MsgReadIndexResp:
                if (m.Entries.Count != 1)
                {
                    _logger.Error($"{Id:x} invalid format of MsgReadIndexResp from {m.From:x}, entries count: {m.Entries.Count}");
                    return;
                }

                ReadStates.Add(new ReadState(m.Index, m.Entries[0].Data));
                break;
        }
    }
}
