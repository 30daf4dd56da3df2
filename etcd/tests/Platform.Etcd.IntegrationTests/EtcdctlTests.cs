using System.Text.Json;
using Platform.Etcd.IntegrationTests.Infrastructure;
using Platform.Testing;
using static Platform.Etcd.IntegrationTests.Infrastructure.Text;

namespace Platform.Etcd.IntegrationTests;

/// <summary>etcdctl 3.4 (a client nobody here wrote) against our in-process member: every command family.</summary>
public sealed class EtcdctlTests : IClassFixture<InProcessEtcdFixture>
{
    private readonly Etcdctl _ctl;
    private readonly InProcessEtcd _etcd;

    public EtcdctlTests(InProcessEtcdFixture fixture)
    {
        _etcd = fixture.Etcd;
        _ctl = new Etcdctl(_etcd.ClientUrl);
    }

    [EtcdctlFact]
    public async Task PutGet_SimpleAndPrefix_PrintsKeysAndValues()
    {
        Assert.Equal("OK\n", await _ctl.OkAsync("put", "pg/a", "1"));
        await _ctl.OkAsync("put", "pg/b", "2");
        await _ctl.OkAsync("put", "pg0", "outside");

        Assert.Equal("pg/a\n1\n", await _ctl.OkAsync("get", "pg/a"));
        Assert.Equal("pg/a\n1\npg/b\n2\n", await _ctl.OkAsync("get", "pg/", "--prefix"));
        // Keys only: the server sends no values and etcdctl prints an empty line for each.
        Assert.Equal("pg/b\n\npg/a\n\n", await _ctl.OkAsync("get", "pg/", "--prefix", "--keys-only", "--sort-by=KEY", "--order=DESCEND"));
        Assert.Equal("", await _ctl.OkAsync("get", "pg/missing"));
    }

    [EtcdctlFact]
    public async Task Get_RevLimitAndJson_MatchHistory()
    {
        await _ctl.OkAsync("put", "hist/k", "v1");
        JsonElement first = Json(await _ctl.OkAsync("get", "hist/k", "-w", "json"));
        long rev1 = first.GetProperty("header").GetProperty("revision").GetInt64();
        await _ctl.OkAsync("put", "hist/k", "v2");
        await _ctl.OkAsync("put", "hist/l", "w");

        Assert.Equal("hist/k\nv1\n", await _ctl.OkAsync("get", "hist/k", $"--rev={rev1}"));
        Assert.Equal("hist/k\nv2\n", await _ctl.OkAsync("get", "hist/k"));

        JsonElement limited = Json(await _ctl.OkAsync("get", "hist/", "--prefix", "--limit=1", "-w", "json"));
        Assert.Equal(2, limited.GetProperty("count").GetInt64());
        Assert.True(limited.GetProperty("more").GetBoolean());
        JsonElement kv = Assert.Single(limited.GetProperty("kvs").EnumerateArray());
        Assert.Equal("hist/k", Text.FromB64(kv.GetProperty("key").GetString()!));
        Assert.Equal("v2", Text.FromB64(kv.GetProperty("value").GetString()!));
        Assert.Equal(2, kv.GetProperty("version").GetInt64());
        Assert.Equal(rev1, kv.GetProperty("create_revision").GetInt64());

        JsonElement sorted = Json(await _ctl.OkAsync("get", "hist/", "--prefix", "--sort-by=MODIFY", "--order=ASCEND", "-w", "json"));
        Assert.Equal(["hist/k", "hist/l"], sorted.GetProperty("kvs").EnumerateArray().Select(k => Text.FromB64(k.GetProperty("key").GetString()!)));
    }

    [EtcdctlFact]
    public async Task PutGet_IgnoreValueSerializableFromKeyAndHashKv_Work()
    {
        await _ctl.OkAsync("put", "opt/k", "first");
        Assert.Equal("OK\n", await _ctl.OkAsync("put", "opt/k", "--ignore-value"));
        Assert.Equal("opt/k\nfirst\n", await _ctl.OkAsync("get", "opt/k", "--consistency=s"));
        CommandResult missing = await _ctl.RunAsync("put", "opt/none", "--ignore-value");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("etcdserver: key not found", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("opt/k\nfirst\n", await _ctl.OkAsync("get", "opt/", "--from-key"), StringComparison.Ordinal);
        JsonElement hash = Assert.Single(Json(await _ctl.OkAsync("endpoint", "hashkv", "-w", "json")).EnumerateArray());
        Assert.True(hash.GetProperty("HashKV").GetProperty("hash").GetUInt32() != 0);
        CommandResult move = await _ctl.RunAsync("move-leader", "1");
        Assert.NotEqual(0, move.ExitCode);
        Assert.Contains("etcdserver: bad leader transferee", move.Stderr, StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task LeaseKeepAlive_BackgroundProcess_RenewsRepeatedly()
    {
        string granted = await _ctl.OkAsync("lease", "grant", "5");
        string id = granted.Split(' ')[1];
        using ChildProcess keepAlive = _ctl.Start("lease", "keep-alive", id);
        // etcdctl renews at a third of the TTL; two renewals prove the stream keeps working.
        await keepAlive.WaitForLineAsync(_ => keepAlive.Output.Split('\n').Count(l => l.Contains("keepalived with TTL(5)", StringComparison.Ordinal)) >= 2, TimeSpan.FromSeconds(30));
        await _ctl.OkAsync("lease", "revoke", id);
        await keepAlive.WaitForLineAsync(l => l.Contains("expired or revoked", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
    }

    [EtcdctlFact]
    public async Task Del_KeyAndPrefix_PrintsDeletedCount()
    {
        await _ctl.OkAsync("put", "del/a", "1");
        await _ctl.OkAsync("put", "del/b", "2");
        await _ctl.OkAsync("put", "del/c", "3");
        Assert.Equal("1\n", await _ctl.OkAsync("del", "del/a"));
        Assert.Equal("0\n", await _ctl.OkAsync("del", "del/a"));
        Assert.Equal("2\ndel/b\n2\ndel/c\n3\n", await _ctl.OkAsync("del", "del/", "--prefix", "--prev-kv"));
    }

    [EtcdctlFact]
    public async Task Txn_InteractiveStdin_TakesBranchByCompare()
    {
        await _ctl.OkAsync("put", "txn/k", "v");
        string script = "value(\"txn/k\") = \"v\"\n\nput txn/k v2\nget txn/k\n\nput txn/k failed\n\n";
        CommandResult success = (await _ctl.RunWithInputAsync(script, "txn")).EnsureSuccess("etcdctl txn");
        Assert.Equal("SUCCESS\n\nOK\n\ntxn/k\nv2\n", success.Stdout);

        CommandResult failure = (await _ctl.RunWithInputAsync(script, "txn")).EnsureSuccess("etcdctl txn");
        Assert.Equal("FAILURE\n\nOK\n", failure.Stdout);
        Assert.Equal("txn/k\nfailed\n", await _ctl.OkAsync("get", "txn/k"));
    }

    [EtcdctlFact]
    public async Task Txn_DuplicateKey_IsRefusedWithEtcdsMessage()
    {
        CommandResult result = await _ctl.RunWithInputAsync("\nput txn2/k a\nput txn2/k b\n\n\n", "txn");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("etcdserver: duplicate key given in txn request", result.Stderr, StringComparison.Ordinal);
    }

    [EtcdctlFact]
    public async Task Watch_BackgroundProcess_SeesPutsAndDeletesInOrder()
    {
        // Pinned to the next revision, the watch sees every change below even if etcdctl's stream
        // is created after the puts (no waiting for it to be ready).
        JsonElement header = Json(await _ctl.OkAsync("get", "watch/", "--prefix", "-w", "json")).GetProperty("header");
        long start = header.GetProperty("revision").GetInt64() + 1;
        using ChildProcess pinned = _ctl.Start("watch", "watch/", "--prefix", $"--rev={start}");
        await _ctl.OkAsync("put", "watch/a", "1");
        await _ctl.OkAsync("put", "watch/b", "2");
        await _ctl.OkAsync("del", "watch/a");

        string[] expected = ["PUT", "watch/a", "1", "PUT", "watch/b", "2", "DELETE", "watch/a"];
        await pinned.WaitForLineAsync(_ => pinned.Output.Split('\n').Count(l => l.Length > 0) >= expected.Length, TimeSpan.FromSeconds(30));
        Assert.Equal(expected, pinned.Output.Split('\n').Where(l => l.Length > 0).Take(expected.Length));
    }

    [EtcdctlFact]
    public async Task Lease_GrantKeepAliveTimeToLiveListRevoke_Work()
    {
        string granted = await _ctl.OkAsync("lease", "grant", "60");
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(granted, "^lease ([0-9a-f]+) granted with TTL\\(60s\\)\n$");
        Assert.True(m.Success, granted);
        string id = m.Groups[1].Value;

        await _ctl.OkAsync("put", "lease/k", "v", $"--lease={id}");
        Assert.Matches($"^lease {id} keepalived with TTL\\(60\\)\n$", await _ctl.OkAsync("lease", "keep-alive", "--once", id));
        Assert.Matches($"^lease {id} granted with TTL\\(60s\\), remaining\\((59|60)s\\), attached keys\\(\\[lease/k\\]\\)\n$", await _ctl.OkAsync("lease", "timetolive", id, "--keys"));
        Assert.Contains(id, await _ctl.OkAsync("lease", "list"), StringComparison.Ordinal);
        Assert.Equal($"lease {id} revoked\n", await _ctl.OkAsync("lease", "revoke", id));
        Assert.Equal("", await _ctl.OkAsync("get", "lease/k"));
        Assert.Equal($"lease {id} already expired\n", await _ctl.OkAsync("lease", "timetolive", id));
    }

    [EtcdctlFact]
    public async Task MemberListAndEndpointStatusHealth_DescribeTheMember()
    {
        string members = await _ctl.OkAsync("member", "list");
        Assert.Matches("^[0-9a-f]+, started, default, http://127\\.0\\.0\\.1:\\d+, " + System.Text.RegularExpressions.Regex.Escape(_etcd.ClientUrl.ToString().TrimEnd('/')) + ", false\n$", members);

        JsonElement status = Assert.Single(Json(await _ctl.OkAsync("endpoint", "status", "-w", "json")).EnumerateArray());
        JsonElement s = status.GetProperty("Status");
        Assert.Equal("3.4.23", s.GetProperty("version").GetString());
        Assert.Equal(s.GetProperty("header").GetProperty("member_id").GetUInt64(), s.GetProperty("leader").GetUInt64());
        Assert.True(s.GetProperty("dbSize").GetInt64() > 0);
        Assert.True(s.GetProperty("raftIndex").GetInt64() > 0);

        JsonElement health = Assert.Single(Json(await _ctl.OkAsync("endpoint", "health", "-w", "json")).EnumerateArray());
        Assert.True(health.GetProperty("health").GetBoolean(), health.ToString());
    }

    [EtcdctlFact]
    public async Task CompactionDefragAlarm_Maintenance_Succeeds()
    {
        await _ctl.OkAsync("put", "maint/k", "1");
        await _ctl.OkAsync("put", "maint/k", "2");
        long rev = Json(await _ctl.OkAsync("get", "maint/k", "-w", "json")).GetProperty("header").GetProperty("revision").GetInt64();
        Assert.Equal($"compacted revision {rev}\n", await _ctl.OkAsync("compaction", rev.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        CommandResult old = await _ctl.RunAsync("get", "maint/k", $"--rev={rev - 1}");
        Assert.NotEqual(0, old.ExitCode);
        Assert.Contains("etcdserver: mvcc: required revision has been compacted", old.Stderr, StringComparison.Ordinal);

        Assert.StartsWith("Finished defragmenting etcd member[", await _ctl.OkAsync("defrag"), StringComparison.Ordinal);
        Assert.Equal("", await _ctl.OkAsync("alarm", "list"));
        Assert.Equal("maint/k\n2\n", await _ctl.OkAsync("get", "maint/k"));
    }

    [EtcdctlFact]
    public async Task SnapshotSave_StreamsTheBackend_ToAFile()
    {
        using var directory = Platform.Testing.TestDirectory.Create("snapshot");
        string file = directory.Combine("snap.db");
        await _ctl.OkAsync("put", "snap/k", "v");
        string saved = await _ctl.OkAsync("snapshot", "save", file);
        Assert.Contains($"Snapshot saved at {file}", saved, StringComparison.Ordinal);
        Assert.True(new FileInfo(file).Length > 0);
    }
}

/// <summary>Auth changes the whole member, so it gets a member of its own.</summary>
public sealed class EtcdctlAuthTests : IAsyncLifetime
{
    private InProcessEtcd? _etcd;

    public async Task InitializeAsync() => _etcd = await InProcessEtcd.StartAsync("auth");

    public async Task DisposeAsync()
    {
        if (_etcd is not null)
        {
            await _etcd.DisposeAsync();
        }
    }

    [EtcdctlFact]
    public async Task AuthEnable_RootUser_GatesRequestsOnCredentials()
    {
        var ctl = new Etcdctl(_etcd!.ClientUrl);
        CommandResult noRoot = await ctl.RunAsync("auth", "enable");
        Assert.NotEqual(0, noRoot.ExitCode);
        Assert.Contains("etcdserver: root user does not exist", noRoot.Stderr, StringComparison.Ordinal);

        Assert.Equal("User root created\n", await ctl.OkAsync("user", "add", "root:rootpw", "--interactive=false"));
        await ctl.OkAsync("user", "add", "alice:alicepw", "--interactive=false");
        await ctl.OkAsync("role", "add", "app");
        await ctl.OkAsync("role", "grant-permission", "app", "readwrite", "app/", "--prefix=true");
        await ctl.OkAsync("user", "grant-role", "alice", "app");
        Assert.Equal("Authentication Enabled\n", await ctl.OkAsync("auth", "enable"));

        CommandResult anonymous = await ctl.RunAsync("put", "app/k", "v");
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Contains("etcdserver: user name is empty", anonymous.Stderr, StringComparison.Ordinal);

        Assert.Equal("OK\n", await ctl.OkAsync("--user", "alice:alicepw", "put", "app/k", "v"));
        CommandResult denied = await ctl.RunAsync("--user", "alice:alicepw", "put", "other", "v");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("etcdserver: permission denied", denied.Stderr, StringComparison.Ordinal);

        CommandResult wrong = await ctl.RunAsync("--user", "alice:nope", "get", "app/k");
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.Contains("etcdserver: authentication failed, invalid user ID or password", wrong.Stderr, StringComparison.Ordinal);

        Assert.Equal("app/k\nv\n", await ctl.OkAsync("--user", "root:rootpw", "get", "app/k"));
        Assert.Equal("Authentication Disabled\n", await ctl.OkAsync("--user", "root:rootpw", "auth", "disable"));
        Assert.Equal("OK\n", await ctl.OkAsync("put", "other", "v"));
    }
}
