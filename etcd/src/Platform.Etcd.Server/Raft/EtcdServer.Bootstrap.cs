using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Platform.Etcd.Server.Auth;
using Platform.Etcd.Server.Lease;
using Platform.Etcd.Server.Maintenance;
using Platform.Etcd.Server.Membership;
using Platform.Etcd.Server.Proto;
using Platform.Etcd.Server.Raft;
using Platform.Etcd.Server.State;
using Platform.Etcd.Storage.Mvcc;
using Platform.Etcd.Storage.Snap;
using Platform.Etcd.Storage.Wal;
using Platform.Etcd.V2Store;
using Platform.Raft;

namespace Platform.Etcd.Server;

internal sealed partial class EtcdServer
{
    private IWriteAheadLog? _wal;
    private ISnapshotter _snapshotter = null!;
    private MemoryStorage _raftStorage = null!;
    private RawNode _node = null!;
    private ConfState _confState = new();
    private ulong _snapshotIndex;

    // Entries at or below this were already applied to the backend (key space and server tables)
    // before the restart: replay skips their v3 effects (etcd's consistent index).
    private ulong _backendAppliedIndex;

    /// <summary>The MVCC store's options from the member's flags (etcd's defaults where a flag is 0).</summary>
    private MvccOptions BackendOptions()
    {
        var defaults = new MvccOptions();
        return new MvccOptions
        {
            QuotaBackendBytes = _options.QuotaBackendBytes,
            BackendBatchInterval = _options.BackendBatchInterval > TimeSpan.Zero ? _options.BackendBatchInterval : defaults.BackendBatchInterval,
            BackendBatchLimit = _options.BackendBatchLimit > 0 ? _options.BackendBatchLimit : defaults.BackendBatchLimit,
            CompactionBatchLimit = _options.CompactionBatchLimit > 0 ? _options.CompactionBatchLimit : defaults.CompactionBatchLimit,
        };
    }

    /// <summary>Opens or creates everything in the data dir; leaves a RawNode ready to drive.</summary>
    private void Recover()
    {
        Directory.CreateDirectory(_layout.MemberDir);
        Directory.CreateDirectory(_layout.SnapDir);
        _snapshotter = Snapshotter.Create(_layout.SnapDir, _options.LoggerFactory.CreateLogger("snap"));
        _kv = MvccStores.Open(_layout.BackendPath, BackendOptions(), _options.LoggerFactory.CreateLogger("mvcc"));
        _v2 = V2Stores.Create("/0", "/1");
        _stateStore = new TablesServerStateStore(_kv);
        _raftStorage = new MemoryStorage();
        ulong memberId;
        ulong clusterId;
        List<Entry>? bootstrap = null;

        if (WriteAheadLog.Exists(_layout.WalDir))
        {
            (memberId, clusterId) = RestartFromDisk();
        }
        else if (_options.InitialClusterState == "existing")
        {
            (memberId, clusterId) = JoinExistingCluster();
        }
        else
        {
            (memberId, clusterId, bootstrap) = BootstrapNewCluster();
        }

        _ids = new RequestIdGenerator(memberId, _time.GetUtcNow());
        LoadServerState();

        var config = new RaftConfig
        {
            Id = memberId,
            ElectionTicks = _options.ElectionTicks,
            HeartbeatTicks = 1,
            Storage = _raftStorage,
            Applied = _snapshotIndex,
            MaxMessageBytes = 1024 * 1024,
            MaxInflightMessages = 512,
            CheckQuorum = true,
            PreVote = true,
            Logger = new RaftLogger(_options.LoggerFactory.CreateLogger("raft")),
        };
        _node = new RawNode(config);
        if (bootstrap is not null)
        {
            // As RawNode.Bootstrap does, but our entries carry etcd's member JSON as context.
            foreach (Entry e in bootstrap)
            {
                _node.ApplyConfChange(ConfChange.Parser.ParseFrom(e.Data));
            }
        }

        // Status reports the recovered term and commit until raft's first Ready says otherwise.
        HardState recovered = _raftStorage.InitialState().HardState;
        _term = recovered.Term;
        _committedIndex = recovered.Commit;
        _logger.LogInformation(
            "etcdserver: member {MemberId:x} of cluster {ClusterId:x} starting (snapshot index {SnapshotIndex}, backend consistent index {BackendIndex})",
            memberId,
            clusterId,
            _snapshotIndex,
            _backendAppliedIndex);
    }

    /// <summary>Leases, auth and alarms as the backend holds them (at open, and after a snapshot replaced the backend).</summary>
    private void LoadServerState()
    {
        PersistedServerState state = _stateStore.Load();
        _backendAppliedIndex = _kv.ConsistentIndex.Index;
        var lessor = new Lessor(_options, _time);
        lessor.Restore(state.Leases, _kv);
        var auth = new AuthStore(_options, _time);
        auth.Restore(state);
        var alarms = new AlarmStore();
        alarms.Restore(state.Alarms);
        if (alarms.Has(Api.AlarmType.Nospace) is false && _kv.NoSpaceAlarm)
        {
            _kv.DisarmNoSpaceAlarm();
        }

        _lessor = lessor;
        _auth = auth;
        _alarms = alarms;
    }

    /// <summary>
    /// <c>--initial-cluster-state existing</c> with an empty data dir: the member was added with
    /// <c>member add</c>; its id is the one the running cluster gave its peer URLs (etcd's
    /// ValidateClusterAndAssignIDs). It starts with an empty log: the leader sends the log from its
    /// start, or a snapshot, and the conf changes in it build the member list.
    /// </summary>
    private (ulong MemberId, ulong ClusterId) JoinExistingCluster()
    {
        ExistingCluster existing = _options.ExistingCluster
            ?? throw new ArgumentException("--initial-cluster-state existing needs the running cluster's member list (no peer answered)");
        string initialCluster = string.IsNullOrEmpty(_options.InitialCluster)
            ? string.Join(',', _options.PeerUrls.Select(u => $"{_options.Name}={u}"))
            : _options.InitialCluster;
        var local = MemberIds.ParseInitialCluster(initialCluster);
        string remote = string.Join(",", existing.Members.Select(m => $"{m.Name}={string.Join(",", m.PeerURLs)}"));
        if (local.Count != existing.Members.Count)
        {
            throw new ArgumentException($"error validating peerURLs {{ClusterID:{existing.ClusterId:x} Members:[{remote}]}}: member count is unequal");
        }

        foreach (var (name, urls) in local)
        {
            if (!existing.Members.Any(m => m.PeerURLs.Order(StringComparer.Ordinal).SequenceEqual(urls.Order(StringComparer.Ordinal))))
            {
                throw new ArgumentException($"error validating peerURLs {{ClusterID:{existing.ClusterId:x} Members:[{remote}]}}: unmatched member while checking PeerURLs ({name}={string.Join(",", urls)} is not in the cluster)");
            }
        }

        var advertised = _options.PeerUrls.Order(StringComparer.Ordinal).ToList();
        Api.Member self = existing.Members.FirstOrDefault(m => m.PeerURLs.Order(StringComparer.Ordinal).SequenceEqual(advertised))
            ?? throw new ArgumentException($"--initial-advertise-peer-urls {string.Join(",", _options.PeerUrls)} match no member of the running cluster ({remote}); add it with `etcdctl member add` first");
        _membership = new ClusterMembership(self.ID, existing.ClusterId);
        var metadata = new Metadata { NodeID = self.ID, ClusterID = existing.ClusterId };
        _wal = WriteAheadLog.Create(_layout.WalDir, metadata.ToByteArray(), logger: _options.LoggerFactory.CreateLogger("wal"));
        _logger.LogInformation("etcdserver: joining existing cluster {ClusterId:x} as member {MemberId:x}", existing.ClusterId, self.ID);
        return (self.ID, existing.ClusterId);
    }

    private (ulong MemberId, ulong ClusterId) RestartFromDisk()
    {
        IReadOnlyList<WalSnapshot> walSnapshots = WriteAheadLog.ReadSnapshots(_layout.WalDir);
        Snapshot? snapshot = null;
        try
        {
            snapshot = _snapshotter.LoadNewestAvailable([.. walSnapshots]);
        }
        catch (SnapshotNotFoundException)
        {
            // No snapshot yet: replay the WAL from the start.
        }

        WalSnapshot at = snapshot is null ? WalSnapshot.Empty : new WalSnapshot(snapshot.Metadata.Index, snapshot.Metadata.Term, snapshot.Metadata.ConfState);
        _wal = WriteAheadLog.Open(_layout.WalDir, at, logger: _options.LoggerFactory.CreateLogger("wal"));
        WalReadResult read = _wal.ReadAll();
        Metadata metadata = Metadata.Parser.ParseFrom(read.Metadata);
        _membership = new ClusterMembership(metadata.NodeID, metadata.ClusterID);
        if (snapshot is not null)
        {
            _raftStorage.ApplySnapshot(snapshot);
            _snapshotIndex = snapshot.Metadata.Index;
            _confState = snapshot.Metadata.ConfState.Clone();
            SnapshotData data = SnapshotDataFormat.Parse(snapshot.Data);
            _v2.Recover(data.V2Store.Span);
            _membership.Restore(data);
        }

        _raftStorage.SetHardState(read.State);
        _raftStorage.Append(read.Entries);
        _appliedWaiter.Advance(_snapshotIndex);
        return (metadata.NodeID, metadata.ClusterID);
    }

    private (ulong MemberId, ulong ClusterId, List<Entry> Bootstrap) BootstrapNewCluster()
    {
        string initialCluster = string.IsNullOrEmpty(_options.InitialCluster)
            ? string.Join(',', _options.PeerUrls.Select(u => $"{_options.Name}={u}"))
            : _options.InitialCluster;
        var members = MemberIds.ParseInitialCluster(initialCluster)
            .Select(m => (m.Name, m.PeerUrls, Id: MemberIds.ComputeMemberId(m.PeerUrls, _options.InitialClusterToken, null)))
            .ToList();
        var self = members.Where(m => m.Name == _options.Name).ToList();
        if (self.Count == 0)
        {
            throw new ArgumentException($"couldn't find local name \"{_options.Name}\" in the initial cluster configuration");
        }

        var advertised = _options.PeerUrls.Order(StringComparer.Ordinal).ToList();
        if (!self[0].PeerUrls.Order(StringComparer.Ordinal).SequenceEqual(advertised))
        {
            throw new ArgumentException(
                $"--initial-cluster has {_options.Name}={string.Join(",", self[0].PeerUrls)} but missing from --initial-advertise-peer-urls={string.Join(",", _options.PeerUrls)}");
        }

        ulong memberId = self[0].Id;
        ulong clusterId = MemberIds.ComputeClusterId(members.Select(m => m.Id));
        _membership = new ClusterMembership(memberId, clusterId);

        // One ConfChangeAddNode per member at term 1, committed, with etcd's member JSON as
        // context (etcd's startNode does the same through raft.StartNode's peers).
        var entries = new List<Entry>();
        foreach (var (m, i) in members.OrderBy(m => m.Id).Select((m, i) => (m, i)))
        {
            var context = new ConfChangeContext { Id = m.Id, PeerUrls = [.. m.PeerUrls.Order(StringComparer.Ordinal)], Name = m.Name };
            var cc = new ConfChange { Type = ConfChangeType.ConfChangeAddNode, NodeId = m.Id, Context = context.ToByteString() };
            entries.Add(new Entry { Type = EntryType.EntryConfChange, Term = 1, Index = (ulong)i + 1, Data = cc.ToByteString() });
        }

        var metadata = new Metadata { NodeID = memberId, ClusterID = clusterId };
        _wal = WriteAheadLog.Create(_layout.WalDir, metadata.ToByteArray(), logger: _options.LoggerFactory.CreateLogger("wal"));
        var hardState = new HardState { Term = 1, Commit = (ulong)entries.Count };
        _wal.Save(hardState, entries);
        _raftStorage.Append(entries);
        _raftStorage.SetHardState(hardState);
        return (memberId, clusterId, entries);
    }

    /// <summary>Raft's log lines, through Microsoft.Extensions.Logging.</summary>
    private sealed class RaftLogger(ILogger logger) : IRaftLogger
    {
        public void Debug(string message) => logger.LogDebug("{Message}", message);

        public void Info(string message) => logger.LogInformation("{Message}", message);

        public void Warning(string message) => logger.LogWarning("{Message}", message);

        public void Error(string message) => logger.LogError("{Message}", message);
    }
}
