namespace Platform.Raft.Tests;

/// <summary>One <see cref="RawNode"/> with its storage and applied state, driven by the Ready contract.</summary>
internal sealed class RawNodePeer
{
    public RawNodePeer(RaftConfig config, MemoryStorage storage)
    {
        Storage = storage;
        Node = new RawNode(config);
        AsyncStorageWrites = config.AsyncStorageWrites;
    }

    public RawNode Node { get; }

    public MemoryStorage Storage { get; }

    public bool AsyncStorageWrites { get; }

    public ulong Id => Node.Raft.Id;

    /// <summary>Every entry applied to the "state machine", in order.</summary>
    public List<Entry> Applied { get; } = [];

    public ConfState? LastConfState { get; private set; }

    /// <summary>Work queued for the local storage threads (async mode), processed on demand.</summary>
    public Queue<Message> AppendThread { get; } = new();

    public Queue<Message> ApplyThread { get; } = new();

    /// <summary>Called with every Ready before it is handled (observers assert the contract).</summary>
    public Action<Ready>? OnReady { get; set; }

    /// <summary>Handles one Ready (sync mode: persist, apply, advance); returns the messages for other nodes.</summary>
    public List<Message> HandleReady()
    {
        Ready ready = Node.GetReady();
        OnReady?.Invoke(ready);
        var outbound = new List<Message>();
        if (AsyncStorageWrites)
        {
            foreach (Message m in ready.Messages)
            {
                if (m.To == RaftConstants.LocalAppendThread)
                {
                    AppendThread.Enqueue(m);
                }
                else if (m.To == RaftConstants.LocalApplyThread)
                {
                    ApplyThread.Enqueue(m);
                }
                else
                {
                    outbound.Add(m);
                }
            }

            return outbound;
        }

        Persist(ready.Snapshot, ready.Entries, ready.HardState);
        Apply(ready.CommittedEntries);
        Node.Advance(ready);
        outbound.AddRange(ready.Messages);
        return outbound;
    }

    /// <summary>Async mode: performs the oldest append-thread work and returns its responses.</summary>
    public List<Message> RunAppendThread()
    {
        Message m = AppendThread.Dequeue();
        HardState? hardState = m.Term != 0 || m.Vote != 0 || m.Commit != 0 ? new HardState { Term = m.Term, Vote = m.Vote, Commit = m.Commit } : null;
        Persist(m.Snapshot, m.Entries, hardState);
        return [.. m.Responses];
    }

    /// <summary>Async mode: applies the oldest apply-thread work and returns its responses.</summary>
    public List<Message> RunApplyThread()
    {
        Message m = ApplyThread.Dequeue();
        Apply(m.Entries);
        return [.. m.Responses];
    }

    private void Persist(Snapshot? snapshot, IReadOnlyList<Entry> entries, HardState? hardState)
    {
        if (snapshot is not null)
        {
            Storage.ApplySnapshot(snapshot);
        }

        Storage.Append(entries);
        if (hardState is not null)
        {
            Storage.SetHardState(hardState);
        }
    }

    private void Apply(IReadOnlyList<Entry> entries)
    {
        foreach (Entry entry in entries)
        {
            Applied.Add(entry);
            if (entry.Type == EntryType.EntryConfChange)
            {
                LastConfState = Node.ApplyConfChange(ConfChange.Parser.ParseFrom(entry.Data));
            }
            else if (entry.Type == EntryType.EntryConfChangeV2)
            {
                LastConfState = Node.ApplyConfChange(ConfChangeV2.Parser.ParseFrom(entry.Data));
            }
        }
    }
}

/// <summary>Several RawNodes exchanging messages in memory until quiescence.</summary>
internal sealed class RawNodeCluster
{
    public RawNodeCluster(int size, Func<ulong, MemoryStorage, RaftConfig>? configure = null)
    {
        ulong[] ids = TestRafts.Ids(size);
        foreach (ulong id in ids)
        {
            MemoryStorage storage = TestRafts.NewStorage(ids);
            RaftConfig config = configure is null ? TestRafts.Config(id, 10, 1, storage) : configure(id, storage);
            Peers[id] = new RawNodePeer(config, storage);
        }
    }

    public Dictionary<ulong, RawNodePeer> Peers { get; } = [];

    public HashSet<ulong> Down { get; } = [];

    public RawNodePeer this[ulong id] => Peers[id];

    /// <summary>Handles Readys, storage threads and deliveries until nothing is left to do.</summary>
    public void Stabilize()
    {
        for (int round = 0; round < 10_000; round++)
        {
            bool progressed = false;
            foreach (RawNodePeer peer in Peers.Values)
            {
                if (Down.Contains(peer.Id))
                {
                    continue;
                }

                while (peer.Node.HasReady())
                {
                    Deliver(peer.HandleReady());
                    progressed = true;
                }

                while (peer.AppendThread.Count > 0)
                {
                    Deliver(peer.RunAppendThread());
                    progressed = true;
                }

                while (peer.ApplyThread.Count > 0)
                {
                    Deliver(peer.RunApplyThread());
                    progressed = true;
                }
            }

            if (!progressed)
            {
                return;
            }
        }

        throw new InvalidOperationException("cluster did not stabilise");
    }

    public void Deliver(IEnumerable<Message> messages)
    {
        foreach (Message m in messages)
        {
            if (Down.Contains(m.To) || !Peers.TryGetValue(m.To, out RawNodePeer? peer))
            {
                continue;
            }

            try
            {
                peer.Node.Step(m);
            }
            catch (RaftException)
            {
                // Dropped proposals and unknown peers: the network does not care.
            }
        }
    }
}
