using Microsoft.Extensions.Logging;
using Platform.Etcd.Api;
using Platform.Etcd.Server.Apply;
using Platform.Etcd.Server.Auth;
using Platform.Etcd.Server.Lease;
using Platform.Etcd.Server.Maintenance;
using Platform.Etcd.Server.Membership;
using Platform.Etcd.Server.Metrics;
using Platform.Etcd.Server.Raft;
using Platform.Etcd.Server.State;
using Platform.Etcd.Server.Watch;
using Platform.Etcd.Storage.Mvcc;
using Platform.Etcd.V2Store;

namespace Platform.Etcd.Server;

/// <summary>
/// One etcd member: a raft loop (Raft/) that persists, sends and applies; the apply path (Apply/)
/// that turns committed entries into MVCC, lease, auth, membership and v2 changes; and the API
/// surface (the IEtcdServer partials) that proposes, waits for the apply result and reads.
/// </summary>
/// <remarks>
/// Threads: the raft loop thread owns the RawNode, the WAL and the raft storage; the apply thread
/// (<see cref="Raft.ApplyQueue"/>) applies the committed entries the loop hands it (one MVCC batch
/// per Ready, in order), except conf changes and snapshots, which the loop applies itself once the
/// apply thread is idle. API calls run on the caller's threads and talk to the loop through its
/// input channel and the wait registry. Reads go straight to the MVCC store.
/// </remarks>
internal sealed partial class EtcdServer : IEtcdServer
{
    /// <summary>The version reported on /version and in Status: the etcd release we are compatible with.</summary>
    public const string ServerVersion = "3.4.23";

    private readonly EtcdServerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DataDirLayout _layout;
    private readonly WaitRegistry _waits = new();
    private readonly AppliedIndexWaiter _appliedWaiter = new();
    private readonly CancellationTokenSource _stopping = new();
    private IKvStore _kv = null!;
    private IV2Store _v2 = null!;
#pragma warning disable CA1859 // the interface is the seam where the storage layer's tables will plug in
    private IServerStateStore _stateStore = null!;
#pragma warning restore CA1859
    private ClusterMembership _membership = null!;
    private Lessor _lessor = null!;
    private AuthStore _auth = null!;
    private AlarmStore _alarms = null!;
    private WatchHub _watchHub = null!;
    private RequestIdGenerator _ids = null!;
    private AutoCompactor? _autoCompactor;
    private int _disposed;

    private EtcdServer(EtcdServerOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger("etcdserver");
        _time = options.TimeProvider;
        _layout = new DataDirLayout(options.DataDir, options.WalDir);
    }

    public ulong ClusterId => _membership.ClusterId;

    public ulong MemberId => _membership.LocalId;

    public ulong Leader => Volatile.Read(ref _leaderId);

    public ulong RaftTerm => Volatile.Read(ref _term);

    public ulong AppliedIndex => _appliedWaiter.Applied;

    public string? HealthProblem
    {
        get
        {
            if (Leader == 0)
            {
                return "no leader";
            }

            IReadOnlyList<AlarmMember> alarms = _alarms.List();
            return alarms.Count > 0 ? $"alarm activated: {string.Join(", ", alarms.Select(a => a.Alarm))}" : null;
        }
    }

    public string Version => ServerVersion;

    public string ClusterVersion => "3.4.0";

    public static EtcdServer Create(EtcdServerOptions options) => new(options);

    public async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        Recover();
        _watchHub = new WatchHub(_kv, _options, this, _time, _options.LoggerFactory.CreateLogger("watch"));
        StartRaftLoop();

        // Until the recovered log is applied (and, alone, we lead), requests would wait anyway.
        await WaitReadyAsync(cancellationToken).ConfigureAwait(false);
        await StartBackgroundLoopsAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _autoCompactor?.Dispose();
        StopBackgroundLoops();
        await StopRaftLoopAsync().ConfigureAwait(false);
        _waits.FailAll(EtcdErrors.Stopped);
        _appliedWaiter.FailAll(EtcdErrors.Stopped);
        _readBatcher.FailAll(EtcdErrors.Stopped);
        if (_watchHub is not null)
        {
            await _watchHub.DisposeAsync().ConfigureAwait(false);
        }

        _wal?.Dispose();
        _kv?.Dispose();
        _stopping.Dispose();
        ServerMetrics.Reset();
    }

    /// <summary>A response header as etcd fills it (revision 0 = the store's current revision).</summary>
    internal ResponseHeader NewHeader(long revision = 0) => new()
    {
        ClusterId = ClusterId,
        MemberId = MemberId,
        Revision = revision == 0 ? _kv.CurrentRevision : revision,
        RaftTerm = RaftTerm,
    };

    private void ThrowIfStopped()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw EtcdErrors.Stopped;
        }
    }
}

/// <summary>etcd's data dir layout: <c>member/wal</c> (or --wal-dir), <c>member/snap</c>, <c>member/snap/db</c>.</summary>
internal sealed class DataDirLayout(string dataDir, string? walDir)
{
    public string MemberDir { get; } = Path.Combine(dataDir, "member");

    public string WalDir { get; } = walDir ?? Path.Combine(dataDir, "member", "wal");

    public string SnapDir => Path.Combine(MemberDir, "snap");

    public string BackendPath => Path.Combine(SnapDir, "db");
}
