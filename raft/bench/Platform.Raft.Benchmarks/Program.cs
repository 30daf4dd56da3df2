using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Platform.Raft;

// The same workload as raft/bench/etcd-raft/main.go, so the two print comparable lines:
//   nodes, batch (proposals between Ready rounds), simulated fsync, committed entries/s, allocations.
// A round = propose `batch` 16-byte entries at the leader, then process Readies and deliver messages
// until the cluster is quiescent. With fsync on, a round that persisted anything costs 1 ms once
// (members write their disks in parallel, as real ones do), spent spinning on both sides.
int seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
Console.WriteLine($"{"impl",-14} {"nodes",5} {"batch",6} {"fsync",6} {"entries/s",12} {"bytes/entry",12} ");
foreach ((int nodes, int batch, bool fsync) in new[] { (1, 1, false), (1, 64, false), (1, 1024, false), (3, 64, false), (3, 1024, false), (1, 1024, true), (3, 1024, true) })
{
    Run(nodes, batch, fsync, TimeSpan.FromSeconds(seconds));
}

return 0;

static void Run(int nodeCount, int batch, bool fsync, TimeSpan duration)
{
    var cluster = new Cluster(nodeCount);
    ByteString payload = ByteString.CopyFrom(new byte[16]);

    // Warm up the JIT and the pools, then measure.
    for (int i = 0; i < 200; i++)
    {
        cluster.Round(payload, batch, fsync: false);
    }

    long committedBefore = cluster.Committed;
    long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
    var stopwatch = Stopwatch.StartNew();
    while (stopwatch.Elapsed < duration)
    {
        cluster.Round(payload, batch, fsync);
    }

    stopwatch.Stop();
    long entries = cluster.Committed - committedBefore;
    long bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
    Console.WriteLine(
        $"{"platform-raft",-14} {nodeCount,5} {batch,6} {(fsync ? "1ms" : "none"),6} {entries / stopwatch.Elapsed.TotalSeconds,12:N0} {bytes / (double)entries,12:N1}");
}

/// <summary>An in-process cluster driven in lock step; node 1 is the leader.</summary>
internal sealed class Cluster
{
    private readonly RawNode[] _nodes;
    private readonly MemoryStorage[] _storages;
    private readonly List<Message> _mailbox = [];

    public Cluster(int count)
    {
        _nodes = new RawNode[count];
        _storages = new MemoryStorage[count];
        var peers = new List<ulong>();
        for (int i = 0; i < count; i++)
        {
            peers.Add((ulong)i + 1);
        }

        for (int i = 0; i < count; i++)
        {
            _storages[i] = new MemoryStorage();
            _nodes[i] = new RawNode(new RaftConfig
            {
                Id = (ulong)i + 1,
                ElectionTicks = 10,
                HeartbeatTicks = 1,
                Storage = _storages[i],
                MaxMessageBytes = 1024 * 1024,
                MaxInflightMessages = 256,
                Random = new Random(i + 1),
            });
            _nodes[i].Bootstrap(peers);
        }

        // Apply the bootstrap configuration first: raft refuses to campaign with it pending.
        while (Pending())
        {
            Process(fsync: false);
        }

        _nodes[0].Campaign();
        while (Pending())
        {
            Process(fsync: false);
        }

        if (_nodes[0].BasicStatus().SoftState.RaftState != StateType.Leader)
        {
            throw new InvalidOperationException("node 1 did not become leader");
        }

        Committed = 0;
    }

    /// <summary>Normal entries applied by the leader since the start.</summary>
    public long Committed { get; private set; }

    public void Round(ByteString payload, int batch, bool fsync)
    {
        for (int i = 0; i < batch; i++)
        {
            _nodes[0].Propose(payload);
        }

        while (Pending())
        {
            Process(fsync);
        }
    }

    private bool Pending()
    {
        if (_mailbox.Count > 0)
        {
            return true;
        }

        foreach (RawNode n in _nodes)
        {
            if (n.HasReady())
            {
                return true;
            }
        }

        return false;
    }

    private void Process(bool fsync)
    {
        bool synced = false;
        for (int i = 0; i < _nodes.Length; i++)
        {
            RawNode node = _nodes[i];
            if (!node.HasReady())
            {
                continue;
            }

            Ready rd = node.GetReady();
            MemoryStorage storage = _storages[i];
            if (rd.Entries.Count > 0)
            {
                storage.Append(rd.Entries);
            }

            if (rd.HardState is not null)
            {
                storage.SetHardState(rd.HardState);
            }

            synced |= rd.MustSync;
            _mailbox.AddRange(rd.Messages);
            if (i == 0)
            {
                foreach (Entry e in rd.CommittedEntries)
                {
                    if (e.Type == EntryType.EntryNormal && !e.Data.IsEmpty)
                    {
                        Committed++;
                    }
                }
            }

            node.Advance(rd);
        }

        if (fsync && synced)
        {
            // A busy 1 ms, not Thread.Sleep: sleep granularity differs between runtimes, and the
            // Go side spins the same way.
            long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 1000;
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(20);
            }
        }

        Message[] batch = [.. _mailbox];
        _mailbox.Clear();
        foreach (Message m in batch)
        {
            _nodes[m.To - 1].Step(m);
        }
    }
}
