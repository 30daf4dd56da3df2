using Google.Protobuf;
using Platform.Testing.Scenarios;

namespace Platform.Raft.Tests.Interaction;

internal sealed partial class InteractionEnv
{
    /// <summary>
    /// Handles one Ready of <paramref name="node"/> as an application would: prints it; in
    /// synchronous mode persists entries, HardState and snapshot, applies the committed entries,
    /// queues the messages and advances; in async mode only queues the messages, the storage
    /// work going to the append and apply threads.
    /// </summary>
    private void ProcessReady(InteractionNode node)
    {
        Ready ready = node.RawNode.GetReady();
        _output.WriteLine(RaftDescribe.DescribeReady(ready));
        bool async = node.Config.AsyncStorageWrites;
        if (!async)
        {
            ProcessAppend(node, ready.HardState, ready.Entries, ready.Snapshot);
            ProcessApply(node, ready.CommittedEntries);
        }

        foreach (Message m in ready.Messages)
        {
            if (MessageTypes.IsLocalTarget(m.To))
            {
                if (!async)
                {
                    throw new InvalidOperationException($"unexpected local message {m.Type} in synchronous mode");
                }

                switch (m.Type)
                {
                    case MessageType.MsgStorageAppend:
                        node.AppendWork.Add(m);
                        break;
                    case MessageType.MsgStorageApply:
                        node.ApplyWork.Add(m);
                        break;
                    default:
                        throw new InvalidOperationException($"unexpected local message {m.Type}");
                }
            }
            else
            {
                Messages.Add(m);
            }
        }

        if (!async)
        {
            node.RawNode.Advance(ready);
        }
    }

    /// <summary>Runs the oldest MsgStorageAppend: persists it, then releases its responses.</summary>
    private void ProcessAppendThread(InteractionNode node)
    {
        if (node.AppendWork.Count == 0)
        {
            _output.WriteLine("no append work to perform");
            return;
        }

        Message m = node.AppendWork[0];
        node.AppendWork.RemoveAt(0);
        _output.WriteLine("Processing:");
        _output.WriteLine(RaftDescribe.DescribeMessage(WithoutResponses(m)));
        var hardState = new HardState { Term = m.Term, Vote = m.Vote, Commit = m.Commit };
        ProcessAppend(node, hardState, m.Entries, m.Snapshot);
        ReleaseResponses(m);
    }

    /// <summary>Runs the oldest MsgStorageApply: applies its entries, then releases its responses.</summary>
    private void ProcessApplyThread(InteractionNode node)
    {
        if (node.ApplyWork.Count == 0)
        {
            _output.WriteLine("no apply work to perform");
            return;
        }

        Message m = node.ApplyWork[0];
        node.ApplyWork.RemoveAt(0);
        _output.WriteLine("Processing:");
        _output.WriteLine(RaftDescribe.DescribeMessage(WithoutResponses(m)));
        ProcessApply(node, m.Entries);
        ReleaseResponses(m);
    }

    private void ReleaseResponses(Message m)
    {
        _output.WriteLine("Responses:");
        foreach (Message response in m.Responses)
        {
            _output.WriteLine(RaftDescribe.DescribeMessage(response));
            Messages.Add(response);
        }
    }

    private static Message WithoutResponses(Message m)
    {
        Message copy = m.Clone();
        copy.Responses.Clear();
        return copy;
    }

    /// <summary>Persists, in etcd's order: HardState, then the snapshot, then the entries.</summary>
    private static void ProcessAppend(InteractionNode node, HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot)
    {
        MemoryStorage storage = node.Storage.Memory;
        if (!RaftHelpers.IsEmptyHardState(hardState))
        {
            storage.SetHardState(hardState!);
        }

        if (!RaftHelpers.IsEmptySnapshot(snapshot))
        {
            // A Ready may carry a snapshot and the entries that follow it (a MsgApp handled
            // after the MsgSnap in the same round): the snapshot goes first. (etcd's env refuses
            // the combination; the Ready contract allows it.)
            storage.ApplySnapshot(snapshot!);

            // The state machine is now the snapshot's (etcd's env leaves its history alone and
            // would go on sending an older state; ours sends what it holds).
            node.History.Add(snapshot!.Clone());
        }

        storage.Append(entries);
    }

    /// <summary>
    /// Applies committed entries to the "appender" state machine: each normal entry's data (a
    /// configuration change's context) is appended to the state, configuration changes also go
    /// through ApplyConfChange.
    /// </summary>
    private static void ProcessApply(InteractionNode node, IReadOnlyList<Entry> entries)
    {
        foreach (Entry entry in entries)
        {
            ByteString update;
            ConfState? confState = null;
            switch (entry.Type)
            {
                case EntryType.EntryConfChange:
                    ConfChange cc = ConfChange.Parser.ParseFrom(entry.Data);
                    update = cc.Context;
                    confState = node.RawNode.ApplyConfChange(cc);
                    break;
                case EntryType.EntryConfChangeV2:
                    ConfChangeV2 cc2 = ConfChangeV2.Parser.ParseFrom(entry.Data);
                    update = cc2.Context;
                    confState = node.RawNode.ApplyConfChange(cc2);
                    break;
                default:
                    update = entry.Data;
                    break;
            }

            Snapshot last = node.History[^1];
            var next = new Snapshot
            {
                Data = ByteString.CopyFrom([.. last.Data.Span, .. update.Span]),
                Metadata = new SnapshotMetadata
                {
                    Index = entry.Index,
                    Term = entry.Term,
                    ConfState = confState ?? last.Metadata.ConfState.Clone(),
                },
            };
            node.History.Add(next);
        }
    }

    /// <summary>
    /// <c>deliver-msgs [ids|all] [drop=(ids)] [type=T]</c>: steps the queued messages for each
    /// recipient (in queue order), or drops them; messages to or from a node's own threads and
    /// self-addressed ones are never dropped (they need reliable delivery).
    /// </summary>
    private void DeliverMsgs(ScenarioCommand c)
    {
        MessageType? type = null;
        if (c.Has("type"))
        {
            string name = c.Get("type");
            type = Enum.TryParse(name, out MessageType parsed) ? parsed : throw new ScenarioException($"{c.Position}: unknown message type {name}");
        }

        var recipients = new List<(ulong Id, bool Drop)>();
        foreach (string word in c.Bare())
        {
            if (word == "all")
            {
                recipients.AddRange(Nodes.Select(n => (n.Id, false)));
            }
            else
            {
                recipients.Add((ParseId(c, word), false));
            }
        }

        foreach (string word in c.GetAll("drop"))
        {
            ulong id = ParseId(c, word);
            if (recipients.Any(r => r.Id == id))
            {
                throw new ScenarioException($"{c.Position}: can't both deliver and drop msgs to {id}");
            }

            recipients.Add((id, true));
        }

        if (Deliver(type, recipients) == 0)
        {
            _output.WriteLine("no messages");
        }
    }

    /// <returns>The number of messages delivered or dropped.</returns>
    private int Deliver(MessageType? type, IReadOnlyList<(ulong Id, bool Drop)> recipients)
    {
        int handled = 0;
        foreach ((ulong id, bool drop) in recipients)
        {
            List<Message> selected = TakeMessages(id, type, drop);
            handled += selected.Count;
            foreach (Message m in selected)
            {
                if (drop)
                {
                    _output.WriteLine("dropped: " + RaftDescribe.DescribeMessage(m));
                    continue;
                }

                _output.WriteLine(RaftDescribe.DescribeMessage(m));
                if (id < 1 || id > (ulong)Nodes.Count)
                {
                    _output.WriteError($"no node {id}");
                    continue;
                }

                try
                {
                    Nodes[(int)(id - 1)].RawNode.Step(m);
                }
                catch (RaftException e)
                {
                    _output.WriteError(e.Message);
                }
            }
        }

        return handled;
    }

    /// <summary>Removes and returns, in order, the queued messages to <paramref name="to"/> of <paramref name="type"/> (null: any).</summary>
    private List<Message> TakeMessages(ulong to, MessageType? type, bool drop)
    {
        var selected = new List<Message>();
        Messages.RemoveAll(m =>
        {
            bool take = m.To == to && (type is null || m.Type == type) && !(drop && IsLocal(m));
            if (take)
            {
                selected.Add(m);
            }

            return take;
        });
        return selected;
    }

    private static bool IsLocal(Message m) => m.From == m.To || MessageTypes.IsLocalTarget(m.From) || MessageTypes.IsLocalTarget(m.To);

    /// <summary>
    /// <c>stabilize [ids] [log-level=l]</c>: until a round does nothing, for the given nodes (all by
    /// default) in turn: handle a Ready, deliver the messages queued for them, run their append
    /// threads, then their apply threads. Messages to other nodes stay queued.
    /// </summary>
    private void Stabilize(ScenarioCommand c)
    {
        List<InteractionNode> nodes = c.Bare().Any() ? [.. c.Bare().Select(w => NodeById(c, ParseId(c, w)))] : [.. Nodes];
        InteractionLogLevel level = _output.Level;
        if (c.Has("log-level"))
        {
            _output.Level = ParseLevel(c, c.Get("log-level"));
        }

        try
        {
            bool done;
            do
            {
                done = true;
                foreach (InteractionNode node in nodes.Where(n => n.RawNode.HasReady()))
                {
                    _output.WriteLine($"> {node.Id} handling Ready");
                    _output.WithIndent(() => ProcessReady(node));
                    done = false;
                }

                foreach (InteractionNode node in nodes.Where(n => Messages.Any(m => m.To == n.Id)))
                {
                    _output.WriteLine($"> {node.Id} receiving messages");
                    _output.WithIndent(() => Deliver(null, [(node.Id, false)]));
                    done = false;
                }

                foreach (InteractionNode node in nodes.Where(n => n.AppendWork.Count > 0))
                {
                    _output.WriteLine($"> {node.Id} processing append thread");
                    while (node.AppendWork.Count > 0)
                    {
                        _output.WithIndent(() => ProcessAppendThread(node));
                    }

                    done = false;
                }

                foreach (InteractionNode node in nodes.Where(n => n.ApplyWork.Count > 0))
                {
                    _output.WriteLine($"> {node.Id} processing apply thread");
                    while (node.ApplyWork.Count > 0)
                    {
                        _output.WithIndent(() => ProcessApplyThread(node));
                    }

                    done = false;
                }
            }
            while (!done);
        }
        finally
        {
            _output.Level = level;
        }
    }
}
