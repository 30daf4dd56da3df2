using Google.Protobuf;
using Platform.Raft.ConfChanges;
using Platform.Testing.Scenarios;

namespace Platform.Raft.Tests.Interaction;

internal sealed partial class InteractionEnv
{
    /// <summary>
    /// Adds nodes with the next free ids. Defaults as in etcd's tests: election 3 ticks, heartbeat
    /// 1, no size or inflight limits. With voters, learners or an index, each storage starts from
    /// a snapshot at that index and term 1 (the index must exceed 1: the nodes must not take the
    /// bootstrap path of an empty log), and the nodes start applied up to it.
    /// </summary>
    private void AddNodes(ScenarioCommand c)
    {
        int count = checked((int)BareUInt64(c, 0));
        Snapshot snapshot = InteractionStorage.EmptySnapshot();
        ConfState confState = snapshot.Metadata.ConfState;
        confState.Voters.AddRange(c.GetAll("voters").Select(v => ParseId(c, v)));
        confState.Learners.AddRange(c.GetAll("learners").Select(v => ParseId(c, v)));
        snapshot.Metadata.Index = c.GetUInt64("index", 0);
        snapshot.Data = ByteString.CopyFromUtf8(c.Get("content", string.Empty));
        bool bootstrap = confState.Voters.Count > 0 || confState.Learners.Count > 0 || snapshot.Metadata.Index > 0 || !snapshot.Data.IsEmpty;
        if (bootstrap)
        {
            if (snapshot.Metadata.Index <= 1)
            {
                throw new ScenarioException($"{c.Position}: index must be specified as > 1 due to bootstrap");
            }

            snapshot.Metadata.Term = 1;
        }

        ReadOnlyOption readOnly = c.Get("read-only", "safe") switch
        {
            "safe" => ReadOnlyOption.Safe,
            "lease-based" => ReadOnlyOption.LeaseBased,
            string s => throw new ScenarioException($"{c.Position}: invalid read-only option {s}"),
        };

        for (int i = 0; i < count; i++)
        {
            ulong id = (ulong)Nodes.Count + 1;
            var history = new List<Snapshot> { snapshot.Clone() };
            var storage = new InteractionStorage(() => history[^1]);
            if (bootstrap)
            {
                storage.Memory.ApplySnapshot(snapshot);
            }

            var config = new RaftConfig
            {
                Id = id,
                Storage = storage,
                ElectionTicks = 3,
                HeartbeatTicks = 1,
                Applied = snapshot.Metadata.Index,
                MaxMessageBytes = c.GetUInt64("max-msg-size", ulong.MaxValue),
                MaxInflightMessages = c.GetInt32("inflight", int.MaxValue),
                MaxInflightBytes = c.GetUInt64("inflight-bytes", 0),
                MaxUncommittedEntriesBytes = c.GetUInt64("max-uncommitted-size", 0),
                MaxCommittedBytesPerReady = c.GetUInt64("max-committed-size-per-ready", 0),
                AsyncStorageWrites = c.GetBool("async-storage-writes", false),
                PreVote = c.GetBool("prevote", false),
                CheckQuorum = c.GetBool("checkquorum", false),
                StepDownOnRemoval = c.GetBool("step-down-on-removal", false),
                DisableConfChangeValidation = c.GetBool("disable-conf-change-validation", false),
                ReadOnlyOption = readOnly,
                Logger = _output,

                // Seeded per node: runs replay exactly, and nodes draw different timeouts.
                Random = new Random((int)id),
            };
            Nodes.Add(new InteractionNode(id, config, storage, history));
        }
    }

    /// <summary>
    /// Proposes the input line's changes (<c>v2 l3 r1</c>): as one V1 ConfChange with
    /// <c>v1=true</c> (exactly one change), else as a ConfChangeV2 with the given transition.
    /// </summary>
    private void ProposeConfChange(ScenarioCommand c)
    {
        InteractionNode node = Node(c, 0);
        IReadOnlyList<ConfChangeSingle> changes = ConfChangeExtensions.ParseConfChanges(c.Input);
        if (c.GetBool("v1", false))
        {
            if (changes.Count != 1)
            {
                throw new ScenarioException($"{c.Position}: v1 conf change can only have one operation");
            }

            node.RawNode.ProposeConfChange(new ConfChange { Type = changes[0].Type, NodeId = changes[0].NodeId });
            return;
        }

        var change = new ConfChangeV2
        {
            Transition = c.Get("transition", "auto") switch
            {
                "auto" => ConfChangeTransition.Auto,
                "implicit" => ConfChangeTransition.JointImplicit,
                "explicit" => ConfChangeTransition.JointExplicit,
                string s => throw new ScenarioException($"{c.Position}: unknown transition {s}"),
            },
        };
        change.Changes.AddRange(changes);
        node.RawNode.ProposeConfChange(change);
    }
}
