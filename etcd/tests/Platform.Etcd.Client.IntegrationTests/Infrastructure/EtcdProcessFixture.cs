using Platform.Testing;

namespace Platform.Etcd.Client.IntegrationTests.Infrastructure;

/// <summary>A single-member etcd 3.4 (Debian's etcd-server).</summary>
public sealed class RealEtcd34 : EtcdProcessFixture
{
    public override string Name => "etcd 3.4";

    public override string VersionPrefix => "3.4.";

    protected override string Executable => EtcdMember.RealEtcdPath;
}

/// <summary>
/// A single-member etcd executable run by <see cref="EtcdMember"/> (claimed free ports, its own
/// directory, killed by PID on stop and dispose whatever the tests did).
/// </summary>
public abstract class EtcdProcessFixture : EtcdServerFixture
{
    private readonly Lazy<EtcdMember> _member;

    protected EtcdProcessFixture()
    {
        _member = new Lazy<EtcdMember>(() => new EtcdMember(Executable, "client-etcd"));
    }

    public override IReadOnlyList<string> ClientUrls => [_member.Value.ClientUrl];

    protected abstract string Executable { get; }

    public override Task StartAsync() => _member.Value.StartAsync();

    public override Task StopAsync() => _member.Value.StopAsync();

    public override async Task DisposeAsync()
    {
        if (_member.IsValueCreated)
        {
            await _member.Value.DisposeAsync();
        }
    }
}
