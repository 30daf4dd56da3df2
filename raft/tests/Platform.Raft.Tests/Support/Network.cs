namespace Platform.Raft.Tests;

/// <summary>
/// An in-memory network of rafts (etcd's raft_test.go network): delivers messages
/// synchronously until quiescence, and can drop, cut, isolate and ignore. Node ids are 1..n in
/// the order given; a null peer is created (election 10, heartbeat 1); a <see cref="BlackHole"/>
/// swallows everything. Randomness (drops) comes from a seeded Random.
/// </summary>
internal sealed class Network
{
    private readonly Dictionary<(ulong From, ulong To), double> _drop = [];
    private readonly HashSet<MessageType> _ignore = [];
    private readonly Random _random = new(TestRafts.Seed);

    private Network(Dictionary<ulong, Raft?> peers, Dictionary<ulong, MemoryStorage> storage)
    {
        Peers = peers;
        Storage = storage;
    }

    /// <summary>A placeholder peer that drops every message.</summary>
    public static object BlackHole { get; } = new();

    public Dictionary<ulong, Raft?> Peers { get; }

    public Dictionary<ulong, MemoryStorage> Storage { get; }

    /// <summary>Called for every delivered message; returning false drops it.</summary>
    public Func<Message, bool>? MessageHook { get; set; }

    public static Network Create(params object?[] peers) => CreateWithConfig(null, peers);

    public static Network CreateWithConfig(Func<ulong, MemoryStorage, RaftConfig>? configure, params object?[] peers)
    {
        ulong[] ids = TestRafts.Ids(peers.Length);
        var rafts = new Dictionary<ulong, Raft?>();
        var storage = new Dictionary<ulong, MemoryStorage>();
        for (int i = 0; i < peers.Length; i++)
        {
            ulong id = ids[i];
            switch (peers[i])
            {
                case null:
                    MemoryStorage s = TestRafts.NewStorage(ids);
                    storage[id] = s;
                    rafts[id] = new Raft(configure is null ? TestRafts.Config(id, 10, 1, s) : configure(id, s));
                    break;
                case Raft r:
                    Assert.Equal(id, r.Id);
                    rafts[id] = r;
                    if (r.Log.Storage is MemoryStorage ms)
                    {
                        storage[id] = ms;
                    }

                    break;
                default:
                    rafts[id] = null;
                    break;
            }
        }

        return new Network(rafts, storage);
    }

    public Raft this[ulong id] => Peers[id] ?? throw new InvalidOperationException($"peer {id} is a black hole");

    /// <summary>Delivers <paramref name="messages"/> and everything they cause, breadth first, until nothing is left.</summary>
    public void Send(params Message[] messages)
    {
        var queue = new Queue<Message>(messages);
        while (queue.Count > 0)
        {
            Message m = queue.Dequeue();
            if (!Peers.TryGetValue(m.To, out Raft? peer) || peer is null)
            {
                continue;
            }

            try
            {
                peer.Step(m);
            }
            catch (ProposalDroppedException)
            {
                // As in etcd's network: a dropped proposal is not the network's business.
            }

            foreach (Message next in Filter(peer.ReadMessages()))
            {
                queue.Enqueue(next);
            }
        }
    }

    /// <summary>Drops messages from <paramref name="from"/> to <paramref name="to"/> with probability <paramref name="fraction"/>.</summary>
    public void Drop(ulong from, ulong to, double fraction) => _drop[(from, to)] = fraction;

    /// <summary>Drops all traffic between <paramref name="a"/> and <paramref name="b"/>.</summary>
    public void Cut(ulong a, ulong b)
    {
        Drop(a, b, 2.0);
        Drop(b, a, 2.0);
    }

    /// <summary>Drops all traffic to and from <paramref name="id"/>.</summary>
    public void Isolate(ulong id)
    {
        foreach (ulong other in Peers.Keys)
        {
            if (other != id)
            {
                Cut(id, other);
            }
        }
    }

    public void Ignore(MessageType type) => _ignore.Add(type);

    public void Recover()
    {
        _drop.Clear();
        _ignore.Clear();
    }

    private List<Message> Filter(List<Message> messages)
    {
        var kept = new List<Message>(messages.Count);
        foreach (Message m in messages)
        {
            if (_ignore.Contains(m.Type))
            {
                continue;
            }

            if (m.Type == MessageType.MsgHup)
            {
                throw new InvalidOperationException("unexpected MsgHup on the network");
            }

            if (_drop.TryGetValue((m.From, m.To), out double fraction) && _random.NextDouble() < fraction)
            {
                continue;
            }

            if (MessageHook is not null && !MessageHook(m))
            {
                continue;
            }

            kept.Add(m);
        }

        return kept;
    }
}
