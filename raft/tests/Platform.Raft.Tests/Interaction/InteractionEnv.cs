using System.Globalization;
using Platform.Testing.Scenarios;

namespace Platform.Raft.Tests.Interaction;

/// <summary>
/// A raft group of <see cref="RawNode"/>s over in-memory storages, driven one command at a time
/// by scenario files (after etcd-io/raft's rafttest.InteractionEnv). Nothing happens on its own:
/// messages wait in <see cref="Messages"/> until delivered, Readys until processed, storage work
/// (async mode) until the append or apply thread runs. Node ids are 1, 2, ... in creation order.
/// Deterministic: each node's Random is seeded with its id.
/// </summary>
/// <remarks>
/// Commands (node ids are decimal; <c>[x]</c> is optional):
/// <code>
/// add-nodes n [voters=(1,2)] [learners=(3)] [index=i] [content=s] [inflight=n] [inflight-bytes=n]
///           [max-msg-size=n] [max-uncommitted-size=n] [max-committed-size-per-ready=n]
///           [async-storage-writes=b] [prevote=b] [checkquorum=b] [step-down-on-removal=b]
///           [read-only=safe|lease-based] [disable-conf-change-validation=b]
///                                  n nodes; with voters/learners/index the storage starts from a
///                                  snapshot at index i (> 1), term 1, holding content
/// campaign id                      start an election now
/// propose id data                  propose a normal entry
/// propose-conf-change id [v1=b] [transition=auto|implicit|explicit]
///                                  the changes as the input line, e.g. "v2 l3 r1"; none leaves a joint config
/// process-ready ids                get, persist, apply and advance one Ready per node
/// process-append-thread ids        (async) run one MsgStorageAppend, queue its responses
/// process-apply-thread ids         (async) run one MsgStorageApply, queue its responses
/// deliver-msgs [ids|all] [drop=(ids)] [type=MsgApp]
///                                  step the queued messages to (or drop those to) these nodes
/// stabilize [ids] [log-level=l]    loop ready/deliver/append/apply until nothing is left
/// tick-election id, tick-heartbeat id, tick id n
/// transfer-leadership from=id to=id, forget-leader id, step-down id, read-index id ctx
/// send-snapshot from to            queue a MsgSnap with from's current state
/// report-unreachable from to, report-snapshot from to [status=finish|failure]
/// compact id index                 compact id's storage up to index, print its log
/// raft-log id, raft-state, status id
/// set-randomized-election-timeout id timeout=ticks
/// log-level none|debug|info|warn|error
/// </code>
/// The input lines of any command but <c>propose-conf-change</c> are further commands, run in turn.
/// An error a command runs into (a dropped proposal, a refused step) is printed, not thrown.
/// </remarks>
internal sealed partial class InteractionEnv
{
    private readonly InteractionOutput _output = new();

    public List<InteractionNode> Nodes { get; } = [];

    /// <summary>Messages in flight between nodes, in the order they were sent.</summary>
    public List<Message> Messages { get; } = [];

    /// <summary>Runs <paramref name="command"/> and returns its output, <c>ok</c> when it printed nothing.</summary>
    public string Handle(ScenarioCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        _output.Take();
        RunReportingErrors(command);
        if (command.Name != "propose-conf-change" && command.Input.Length > 0)
        {
            foreach (string line in command.Input.Split('\n'))
            {
                ScenarioCommand inner = ScenarioFile.Parse(command.Position, line + "\n----\n").Blocks[0].Command;
                RunReportingErrors(inner);
            }
        }

        string text = _output.Take();
        return text.Length == 0 ? "ok" : text;
    }

    private void RunReportingErrors(ScenarioCommand command)
    {
        try
        {
            Execute(command);
        }
        catch (ScenarioException)
        {
            throw;
        }
        catch (RaftException e)
        {
            _output.WriteError(e.Message);
        }
        catch (Platform.Raft.ConfChanges.ConfChangeException e)
        {
            _output.WriteError(e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or KeyNotFoundException)
        {
            // A violated invariant: print it, as a Go panic would stop the test, so that a
            // scenario can pin a bug; the node involved is not usable afterwards.
            _output.WriteError($"panic: {e.GetType().Name}: {e.Message}");
        }
    }

    private void Execute(ScenarioCommand c)
    {
        switch (c.Name)
        {
            case "add-nodes":
                AddNodes(c);
                break;
            case "campaign":
                Node(c, 0).RawNode.Campaign();
                break;
            case "propose":
                Propose(c);
                break;
            case "propose-conf-change":
                ProposeConfChange(c);
                break;
            case "process-ready":
                ForEachNode(c, "handling Ready", ProcessReady);
                break;
            case "process-append-thread":
                ForEachNode(c, "processing append thread", ProcessAppendThread);
                break;
            case "process-apply-thread":
                ForEachNode(c, "processing apply thread", ProcessApplyThread);
                break;
            case "deliver-msgs":
                DeliverMsgs(c);
                break;
            case "stabilize":
                Stabilize(c);
                break;
            case "tick-election":
                Tick(Node(c, 0), Node(c, 0).Config.ElectionTicks);
                break;
            case "tick-heartbeat":
                Tick(Node(c, 0), Node(c, 0).Config.HeartbeatTicks);
                break;
            case "tick":
                Tick(Node(c, 0), checked((int)BareUInt64(c, 1)));
                break;
            case "transfer-leadership":
                NodeById(c, c.GetUInt64("from")).RawNode.TransferLeader(c.GetUInt64("to"));
                break;
            case "forget-leader":
                Node(c, 0).RawNode.ForgetLeader();
                break;
            case "step-down":
                StepDown(Node(c, 0));
                break;
            case "read-index":
                Node(c, 0).RawNode.ReadIndex(Google.Protobuf.ByteString.CopyFromUtf8(BareWord(c, 1)));
                break;
            case "send-snapshot":
                SendSnapshot(Node(c, 0), BareUInt64(c, 1));
                break;
            case "report-unreachable":
                Node(c, 0).RawNode.ReportUnreachable(BareUInt64(c, 1));
                break;
            case "report-snapshot":
                Node(c, 0).RawNode.ReportSnapshot(
                    BareUInt64(c, 1),
                    c.Get("status", "finish") switch
                    {
                        "finish" => SnapshotStatus.Finish,
                        "failure" => SnapshotStatus.Failure,
                        string s => throw new ScenarioException($"{c.Position}: unknown snapshot status {s}"),
                    });
                break;
            case "compact":
                Node(c, 0).Storage.Memory.Compact(BareUInt64(c, 1));
                RaftLog(Node(c, 0));
                break;
            case "raft-log":
                RaftLog(Node(c, 0));
                break;
            case "raft-state":
                RaftState();
                break;
            case "status":
                Status(Node(c, 0));
                break;
            case "set-randomized-election-timeout":
                Node(c, 0).Raft.RandomizedElectionTimeout = c.GetInt32("timeout", 0);
                break;
            case "log-level":
                _output.Level = ParseLevel(c, BareWord(c, 0));
                break;
            default:
                throw new ScenarioException($"{c.Position}: unknown command {c.Name}");
        }
    }

    /// <summary>Runs <paramref name="action"/> on each node named; several get a header and indentation, as in etcd.</summary>
    private void ForEachNode(ScenarioCommand c, string what, Action<InteractionNode> action)
    {
        List<InteractionNode> nodes = [.. c.Bare().Select(word => NodeById(c, ParseId(c, word)))];
        foreach (InteractionNode node in nodes)
        {
            if (nodes.Count > 1)
            {
                _output.WriteLine($"> {node.Id} {what}");
                _output.WithIndent(() => action(node));
            }
            else
            {
                action(node);
            }
        }
    }

    private static void Tick(InteractionNode node, int ticks)
    {
        for (int i = 0; i < ticks; i++)
        {
            node.RawNode.Tick();
        }
    }

    private void Propose(ScenarioCommand c)
    {
        InteractionNode node = Node(c, 0);
        node.RawNode.Propose(Google.Protobuf.ByteString.CopyFromUtf8(BareWord(c, 1)));
    }

    /// <summary>
    /// The leader gives up leadership in its term, as when CheckQuorum finds no quorum: it becomes
    /// a follower without a leader, and the group elects a new leader after a timeout.
    /// </summary>
    private static void StepDown(InteractionNode node)
    {
        Raft raft = node.Raft;
        if (raft.State != StateType.Leader)
        {
            throw new InvalidOperationException($"{node.Id} is not the leader");
        }

        raft.BecomeFollower(raft.Term, RaftConstants.None);
    }

    private void SendSnapshot(InteractionNode from, ulong to)
    {
        var m = new Message
        {
            Type = MessageType.MsgSnap,
            Term = from.RawNode.BasicStatus().HardState.Term,
            From = from.Id,
            To = to,
            Snapshot = from.Storage.Snapshot(),
        };
        Messages.Add(m);
        _output.WriteLine(RaftDescribe.DescribeMessage(m));
    }

    private void RaftLog(InteractionNode node)
    {
        MemoryStorage s = node.Storage.Memory;
        ulong first = s.FirstIndex();
        ulong last = s.LastIndex();
        if (last < first)
        {
            _output.WriteLine($"log is empty: first index={first}, last index={last}");
            return;
        }

        _output.Write(RaftDescribe.DescribeEntries(s.Entries(first, last + 1, ulong.MaxValue)));
    }

    /// <summary>Each node's own view: role, whether it is a voter in its configuration, term, leader.</summary>
    private void RaftState()
    {
        foreach (InteractionNode node in Nodes)
        {
            BasicStatus status = node.RawNode.BasicStatus();
            ConfState conf = node.Raft.Tracker.ConfState();
            bool voter = conf.Voters.Contains(node.Id) || conf.VotersOutgoing.Contains(node.Id);
            _output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{node.Id}: {RaftDescribe.DescribeStateType(status.SoftState.RaftState)} ({(voter ? "Voter" : "Non-Voter")}) Term:{status.HardState.Term} Lead:{status.SoftState.Lead}"));
        }
    }

    /// <summary>The leader's view of every peer's replication (nothing on a non-leader), in etcd's progress format.</summary>
    private void Status(InteractionNode node)
    {
        if (node.Raft.State != StateType.Leader)
        {
            return;
        }

        foreach (KeyValuePair<ulong, Platform.Raft.Tracker.Progress> entry in node.Raft.Tracker.Progress)
        {
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{entry.Key}: {entry.Value}"));
        }
    }

    private InteractionNode Node(ScenarioCommand c, int position) => NodeById(c, BareUInt64(c, position));

    private InteractionNode NodeById(ScenarioCommand c, ulong id) =>
        id >= 1 && id <= (ulong)Nodes.Count ? Nodes[(int)(id - 1)] : throw new ScenarioException($"{c.Position}: no node {id}");

    private static string BareWord(ScenarioCommand c, int position) =>
        c.Bare().ElementAtOrDefault(position) ?? throw new ScenarioException($"{c.Position}: {c.Name}: missing argument {position + 1}");

    private static ulong BareUInt64(ScenarioCommand c, int position) => ParseId(c, BareWord(c, position));

    private static ulong ParseId(ScenarioCommand c, string word) =>
        ulong.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : throw new ScenarioException($"{c.Position}: {c.Name}: {word} is not a number");

    private static InteractionLogLevel ParseLevel(ScenarioCommand c, string level) => level.ToUpperInvariant() switch
    {
        "DEBUG" => InteractionLogLevel.Debug,
        "INFO" => InteractionLogLevel.Info,
        "WARN" => InteractionLogLevel.Warn,
        "ERROR" => InteractionLogLevel.Error,
        "NONE" => InteractionLogLevel.None,
        _ => throw new ScenarioException($"{c.Position}: unknown log level {level}"),
    };
}
