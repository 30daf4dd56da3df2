using Platform.Raft.Tracker;

namespace Platform.Raft;

internal sealed partial class Raft
{
    private void HandleTransferLeader(Message m, Progress pr)
    {
        if (pr.IsLearner)
        {
            _logger.Debug($"{Id:x} is learner. Ignored transferring leadership");
            return;
        }

        ulong transferee = m.From;
        ulong previous = LeadTransferee;
        if (previous != RaftConstants.None)
        {
            if (previous == transferee)
            {
                _logger.Info($"{Id:x} [term {Term}] transfer leadership to {transferee:x} is in progress, ignores request to same node {transferee:x}");
                return;
            }

            AbortLeaderTransfer();
            _logger.Info($"{Id:x} [term {Term}] abort previous transferring leadership to {previous:x}");
        }

        if (transferee == Id)
        {
            _logger.Debug($"{Id:x} is already leader. Ignored transferring leadership to self");
            return;
        }

        // Raft thesis §3.10. The transfer must finish within an election timeout (then it is
        // abandoned, see TickHeartbeat); proposals are dropped meanwhile.
        _logger.Info($"{Id:x} [term {Term}] starts to transfer leadership to {transferee:x}");
        ElectionElapsed = 0;
        LeadTransferee = transferee;
        if (pr.Match == Log.LastIndex())
        {
            SendTimeoutNow(transferee);
            _logger.Info($"{Id:x} sends MsgTimeoutNow to {transferee:x} immediately as {transferee:x} already has up-to-date log");
        }
        else
        {
            // Catch it up first; the MsgTimeoutNow follows its acknowledgement.
            SendAppend(transferee);
        }
    }

    private void SendTimeoutNow(ulong to) => Send(new Message { To = to, Type = MessageType.MsgTimeoutNow });

    private void AbortLeaderTransfer() => LeadTransferee = RaftConstants.None;
}
