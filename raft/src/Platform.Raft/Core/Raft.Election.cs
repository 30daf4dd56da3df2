using Google.Protobuf;
using Platform.Raft.Quorum;

namespace Platform.Raft;

internal enum CampaignType
{
    /// <summary>The first phase of an election when PreVote is on.</summary>
    PreElection,

    /// <summary>A normal, time-based election (the second phase with PreVote).</summary>
    Election,

    /// <summary>An election forced by a leader transfer (MsgTimeoutNow): overrides leases.</summary>
    Transfer,
}

internal sealed partial class Raft
{
    /// <summary>The context of vote requests of a transfer campaign (etcd's "CampaignTransfer").</summary>
    internal static readonly ByteString CampaignTransferContext = ByteString.CopyFromUtf8("CampaignTransfer");

    private void Hup(CampaignType type)
    {
        if (State == StateType.Leader)
        {
            _logger.Debug($"{Id:x} ignoring MsgHup because already leader");
            return;
        }

        if (!IsPromotable())
        {
            _logger.Warning($"{Id:x} is unpromotable and can not campaign");
            return;
        }

        if (HasUnappliedConfChanges())
        {
            // Becoming leader with a committed but unapplied change would let us propose another
            // change before knowing the current configuration.
            _logger.Warning($"{Id:x} cannot campaign at term {Term} since there are still pending configuration changes to apply");
            return;
        }

        _logger.Info($"{Id:x} is starting a new election at term {Term}");
        Campaign(type);
    }

    private bool HasUnappliedConfChanges()
    {
        if (Log.Applied >= Log.Committed)
        {
            return false;
        }

        // Scan the committed, unapplied entries in pages bounded like the apply batches, so a
        // long tail does not spike memory.
        bool found = false;
        Log.Scan(Log.Applied + 1, Log.Committed + 1, Log.MaxApplyingBytes, page =>
        {
            for (int i = 0; i < page.Count; i++)
            {
                if (page[i].Type is EntryType.EntryConfChange or EntryType.EntryConfChangeV2)
                {
                    found = true;
                    return false;
                }
            }

            return true;
        });
        return found;
    }

    /// <summary>Becomes (pre-)candidate and requests votes. Callers check that the node is promotable.</summary>
    internal void Campaign(CampaignType type)
    {
        if (!IsPromotable())
        {
            _logger.Warning($"{Id:x} is unpromotable; campaign() should have been called");
        }

        ulong term;
        MessageType voteType;
        if (type == CampaignType.PreElection)
        {
            BecomePreCandidate();
            voteType = MessageType.MsgPreVote;

            // Pre-votes ask for the next term before we increment ours.
            term = Term + 1;
        }
        else
        {
            BecomeCandidate();
            voteType = MessageType.MsgVote;
            term = Term;
        }

        IReadOnlyList<ulong> voters = Tracker.VoterNodes();
        (ulong lastIndex, ulong lastTerm) = Log.LastEntryId();
        for (int i = 0; i < voters.Count; i++)
        {
            ulong id = voters[i];
            if (id == Id)
            {
                // Our own vote counts once it is durable: a self-addressed response that waits
                // for the vote to be persisted like any other.
                Send(new Message { To = id, Term = term, Type = MessageTypes.VoteResponseType(voteType) });
                continue;
            }

            _logger.Info($"{Id:x} [logterm: {lastTerm}, index: {lastIndex}] sent {voteType} request to {id:x} at term {Term}");
            var request = new Message { To = id, Term = term, Type = voteType, Index = lastIndex, LogTerm = lastTerm };
            if (type == CampaignType.Transfer)
            {
                request.Context = CampaignTransferContext;
            }

            Send(request);
        }
    }

    private (int Granted, int Rejected, VoteResult Result) Poll(ulong id, MessageType type, bool granted)
    {
        if (granted)
        {
            _logger.Info($"{Id:x} received {type} from {id:x} at term {Term}");
        }
        else
        {
            _logger.Info($"{Id:x} received {type} rejection from {id:x} at term {Term}");
        }

        Tracker.RecordVote(id, granted);
        return Tracker.TallyVotes();
    }

    private void HandleVoteRequest(Message m)
    {
        // We can vote if this repeats a vote we cast, if we have not voted and know no leader in
        // this term, or if this is a pre-vote for a future term...
        bool canVote = Vote == m.From
            || (Vote == RaftConstants.None && Lead == RaftConstants.None)
            || (m.Type == MessageType.MsgPreVote && m.Term > Term);

        // ...and the candidate's log is at least as up to date as ours (Raft §5.4.1).
        (ulong lastIndex, ulong lastTerm) = Log.LastEntryId();
        if (canVote && Log.IsUpToDate(m.Index, m.LogTerm))
        {
            // Learners vote too: a learner promoted by a change it has not seen yet may be needed
            // to elect the leader that will tell it (etcd-io/etcd#7625).
            _logger.Info($"{Id:x} [logterm: {lastTerm}, index: {lastIndex}, vote: {Vote:x}] cast {m.Type} for {m.From:x} [logterm: {m.LogTerm}, index: {m.Index}] at term {Term}");

            // Respond with the request's term, not ours: for pre-votes ours may be older, and the
            // candidate ignores responses from older terms.
            Send(new Message { To = m.From, Term = m.Term, Type = MessageTypes.VoteResponseType(m.Type) });
            if (m.Type == MessageType.MsgVote)
            {
                // Only real votes are recorded.
                ElectionElapsed = 0;
                Vote = m.From;
            }
        }
        else
        {
            _logger.Info($"{Id:x} [logterm: {lastTerm}, index: {lastIndex}, vote: {Vote:x}] rejected {m.Type} from {m.From:x} [logterm: {m.LogTerm}, index: {m.Index}] at term {Term}");
            Send(new Message { To = m.From, Term = Term, Type = MessageTypes.VoteResponseType(m.Type), Reject = true });
        }
    }
}
