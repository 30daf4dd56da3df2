using Platform.Raft.ConfChanges;

namespace Platform.Raft.Simulation;

/// <summary>The faults and the client traffic of the run's faulty phase.</summary>
public sealed partial class Simulator
{
    private void InjectFaults()
    {
        if (_partition is null && _random.NextDouble() < _options.PartitionProbability)
        {
            // A random side of at least one node; the rest is the other side.
            _partition = [.. _nodes.Keys.Where(_ => _random.Next(2) == 0)];
            if (_partition.Count == 0)
            {
                _partition.Add(_nodes.Keys.ElementAt(_random.Next(_nodes.Count)));
            }

            Record($"partition {{{string.Join(' ', _partition)}}} from the rest");
        }
        else if (_partition is not null && _random.NextDouble() < _options.HealProbability)
        {
            _partition = null;
            Record("heal partition");
        }

        foreach (SimulatedNode node in _nodes.Values.Where(n => !n.Removed).ToList())
        {
            if (node.IsUp && _random.NextDouble() < _options.CrashProbability)
            {
                node.Crash();
                _crashes++;
                Record($"crash {node.Id}");
                if (_options.UnsafeLoseAcknowledgedWrites)
                {
                    node.LoseDurableTail(_random.Next(1, 4));
                    Record($"{node.Id} lost durable entries (unsafe mode)");
                }
            }
            else if (!node.IsUp && _random.NextDouble() < _options.RestartProbability)
            {
                StartNode(node);
            }
            else if (node.IsUp && _random.NextDouble() < _options.SnapshotProbability)
            {
                TakeSnapshot(node);
            }
        }
    }

    private void TakeSnapshot(SimulatedNode node)
    {
        ulong applied = node.StateMachine.AppliedIndex;
        // With async storage writes a node may apply entries before the hard state that commits
        // them is durable; a snapshot above the durable commit index would not survive a restart
        // consistently (raft refuses a commit index below the snapshot), so wait for it.
        if (applied <= node.Disk.Snapshot().Metadata.Index || applied > node.Disk.LastIndex() || applied > node.Disk.InitialState().HardState.Commit)
        {
            return;
        }

        node.Disk.CreateSnapshot(applied, node.StateMachine.ConfState.Clone(), node.StateMachine.Snapshot());
        // Keep a random tail of the log for slow followers, as etcd keeps 5,000 entries.
        ulong keep = (ulong)_random.Next(0, 20);
        if (applied > keep + 1 && applied - keep > node.Disk.FirstIndex())
        {
            node.Disk.Compact(applied - keep);
        }

        _snapshots++;
        Record($"{node.Id} snapshot at {applied}, compacted to {node.Disk.FirstIndex() - 1} {Describe(node.StateMachine.ConfState)}");
    }

    private void GenerateTraffic()
    {
        SimulatedNode[] live = [.. LiveNodes()];
        if (live.Length == 0)
        {
            return;
        }

        if (_random.NextDouble() < _options.ProposeProbability)
        {
            ProposeTo(live[_random.Next(live.Length)]);
        }

        if (_random.NextDouble() < _options.ReadIndexProbability)
        {
            SimulatedNode node = live[_random.Next(live.Length)];
            ulong id = ++_nextRead;
            _pendingReads[id] = _checker.KnownAppliedIndex;
            node.Raft!.ReadIndex(SimulatedNode.Context(id));
            Record($"read {id} at {node.Id} (must see index {_pendingReads[id]})");
        }

        SimulatedNode? leader = live.FirstOrDefault(n => n.Raft!.BasicStatus().SoftState.RaftState == StateType.Leader);
        if (leader is null)
        {
            return;
        }

        if (_random.NextDouble() < _options.ConfChangeProbability)
        {
            ProposeConfChange(leader);
        }

        if (_random.NextDouble() < _options.TransferLeaderProbability)
        {
            ulong[] voters = [.. leader.StateMachine.ConfState.Voters.Where(v => v != leader.Id)];
            if (voters.Length > 0)
            {
                ulong target = voters[_random.Next(voters.Length)];
                leader.Raft!.TransferLeader(target);
                Record($"transfer leadership {leader.Id} -> {target}");
            }
        }
    }

    private void ProposeTo(SimulatedNode? node)
    {
        if (node is null)
        {
            return;
        }

        ulong n = ++_nextProposal;
        try
        {
            node.Raft!.Propose(ProposalData(n));
            Record($"propose {n} at {node.Id}");
        }
        catch (ProposalDroppedException)
        {
            Record($"proposal {n} at {node.Id} dropped");
        }
    }

    private void ProposeConfChange(SimulatedNode leader)
    {
        ConfState cs = leader.StateMachine.ConfState;
        ConfChangeV2 cc;
        if (cs.VotersOutgoing.Count > 0)
        {
            if (cs.AutoLeave)
            {
                return;
            }

            cc = new ConfChangeV2(); // leave the explicit joint configuration
        }
        else
        {
            cc = new ConfChangeV2
            {
                Transition = (ConfChangeTransition)_random.Next(3),
            };
            int changes = 1 + (_random.Next(3) == 0 ? 1 : 0);
            var touched = new HashSet<ulong>();
            for (int i = 0; i < changes; i++)
            {
                ConfChangeSingle? single = RandomChange(cs, touched);
                if (single is not null)
                {
                    cc.Changes.Add(single);
                    touched.Add(single.NodeId);
                }
            }

            if (cc.Changes.Count == 0)
            {
                return;
            }
        }

        try
        {
            if (cc.Changes.Count == 1 && cc.Transition == ConfChangeTransition.Auto && _random.Next(2) == 0)
            {
                leader.Raft!.ProposeConfChange(new ConfChange { Type = cc.Changes[0].Type, NodeId = cc.Changes[0].NodeId });
            }
            else
            {
                leader.Raft!.ProposeConfChange(cc);
            }

            Record($"propose conf change at {leader.Id}: {ConfChangeExtensions.FormatConfChanges(cc.Changes)} ({cc.Transition})");
        }
        catch (ProposalDroppedException)
        {
            Record($"conf change at {leader.Id} dropped");
        }
    }

    private ConfChangeSingle? RandomChange(ConfState cs, HashSet<ulong> touched)
    {
        ulong[] voters = [.. cs.Voters.Where(v => !touched.Contains(v))];
        ulong[] learners = [.. cs.Learners.Where(v => !touched.Contains(v))];
        ulong nextId = _nodes.Keys.Max() + 1;
        switch (_random.Next(4))
        {
            case 0 when nextId <= (ulong)_options.MaxNodes && !touched.Contains(nextId):
                return new ConfChangeSingle
                {
                    Type = _random.Next(2) == 0 ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode,
                    NodeId = nextId,
                };
            case 1 when learners.Length > 0:
                return new ConfChangeSingle { Type = ConfChangeType.ConfChangeAddNode, NodeId = learners[_random.Next(learners.Length)] };
            case 2 when voters.Length > 2:
                return new ConfChangeSingle
                {
                    Type = _random.Next(2) == 0 ? ConfChangeType.ConfChangeRemoveNode : ConfChangeType.ConfChangeAddLearnerNode,
                    NodeId = voters[_random.Next(voters.Length)],
                };
            case 3 when learners.Length > 0:
                return new ConfChangeSingle { Type = ConfChangeType.ConfChangeRemoveNode, NodeId = learners[_random.Next(learners.Length)] };
            default:
                return null;
        }
    }

    private void OnReadState(SimulatedNode node, ReadState rs)
    {
        ulong id = BitConverter.ToUInt64(rs.RequestContext.Span);
        if (!_pendingReads.Remove(id, out ulong mustSee))
        {
            return; // a duplicate answer to a read already served
        }

        if (rs.Index < mustSee)
        {
            throw Failure($"read {id} at node {node.Id} got index {rs.Index}, but index {mustSee} was applied before the read started: a stale read");
        }

        _readsServed++;
        Record($"read {id} served by {node.Id} at index {rs.Index}");
    }
}
