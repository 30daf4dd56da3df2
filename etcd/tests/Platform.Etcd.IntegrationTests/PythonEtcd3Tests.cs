using Platform.Etcd.IntegrationTests.Infrastructure;

namespace Platform.Etcd.IntegrationTests;

/// <summary>python3-etcd3 0.12 (Debian; a gRPC client nobody here wrote) via /usr/bin/python3 against our member.</summary>
public sealed class PythonEtcd3Tests : IClassFixture<InProcessEtcdFixture>
{
    private readonly InProcessEtcd _etcd;

    public PythonEtcd3Tests(InProcessEtcdFixture fixture)
    {
        _etcd = fixture.Etcd;
    }

    private async Task<string> RunAsync(string body)
    {
        string script = "import etcd3, sys\n"
            + $"c = etcd3.client(host='127.0.0.1', port={_etcd.ClientUrl.Port}, timeout=30)\n"
            + body;
        CommandResult result = await Command.RunAsync(Binaries.Python, ["-c", script], TimeSpan.FromSeconds(90));
        return result.EnsureSuccess("python3 etcd3 script").Stdout;
    }

    [PythonEtcd3Fact]
    public async Task PutGetPrefixDelete_RoundTrip()
    {
        string output = await RunAsync("""
            c.put('py/a', 'one')
            c.put('py/b', 'two')
            v, meta = c.get('py/a')
            print(v.decode(), meta.key.decode(), meta.version)
            print(sorted((m.key.decode(), v.decode()) for v, m in c.get_prefix('py/')))
            print(c.delete('py/a'), c.get('py/a')[0])
            print(c.get_all is not None)
            """);
        Assert.Equal("one py/a 1\n[('py/a', 'one'), ('py/b', 'two')]\nTrue None\nTrue\n", output);
    }

    [PythonEtcd3Fact]
    public async Task Transaction_CompareValue_ChoosesBranch()
    {
        string output = await RunAsync("""
            c.put('pytxn/k', 'v')
            ok, responses = c.transaction(
                compare=[c.transactions.value('pytxn/k') == 'v'],
                success=[c.transactions.put('pytxn/k', 'v2'), c.transactions.get('pytxn/k')],
                failure=[c.transactions.put('pytxn/k', 'bad')])
            print(ok, responses[1][0][0].decode())
            ok, _ = c.transaction(compare=[c.transactions.version('pytxn/k') > 5], success=[], failure=[c.transactions.delete('pytxn/k')])
            print(ok, c.get('pytxn/k')[0])
            """);
        Assert.Equal("True v2\nFalse None\n", output);
    }

    [PythonEtcd3Fact]
    public async Task Watch_PrefixIterator_ReceivesEventsInOrder()
    {
        string output = await RunAsync("""
            import threading
            events, cancel = c.watch_prefix('pyw/')
            def writer():
                c.put('pyw/a', '1')
                c.put('pyw/b', '2')
                c.delete('pyw/a')
            threading.Thread(target=writer).start()
            seen = []
            for e in events:
                seen.append((type(e).__name__, e.key.decode(), e.value.decode()))
                if len(seen) == 3:
                    cancel()
            print(seen)
            """);
        Assert.Equal("[('PutEvent', 'pyw/a', '1'), ('PutEvent', 'pyw/b', '2'), ('DeleteEvent', 'pyw/a', '')]\n", output);
    }

    [PythonEtcd3Fact]
    public async Task Lease_GrantAttachRefreshRevoke_Works()
    {
        string output = await RunAsync("""
            lease = c.lease(60)
            c.put('pyl/k', 'v', lease=lease)
            print(lease.ttl, lease.granted_ttl, [k.decode() for k in lease.keys])
            print(list(lease.refresh())[0].TTL)
            lease.revoke()
            print(c.get('pyl/k')[0])
            """);
        string[] lines = output.Split('\n');
        Assert.Matches("^(59|60) 60 \\['pyl/k'\\]$", lines[0]);
        Assert.Equal("60", lines[1]);
        Assert.Equal("None", lines[2]);
    }

    [PythonEtcd3Fact]
    public async Task StatusAndMembers_DescribeTheMember()
    {
        string output = await RunAsync("""
            s = c.status()
            print(s.version, s.leader.id == s.leader.id, s.db_size > 0)
            print([(m.name, list(m.client_urls)) for m in c.members])
            """);
        Assert.Equal($"3.4.23 True True\n[('default', ['{_etcd.ClientUrl.ToString().TrimEnd('/')}'])]\n", output);
    }
}
