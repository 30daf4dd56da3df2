using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Platform.Etcd.Client;
using Platform.Testing;

namespace Platform.Flannel.IntegrationTests.Infrastructure;

/// <summary>
/// One etcd server process per test class, run by <see cref="EtcdMember"/> on free ports, with a
/// client shared by the class. Tests isolate themselves with their own key prefix.
/// </summary>
[SuppressMessage("Reliability", "CA1001", Justification = "xunit disposes class fixtures through IAsyncLifetime.DisposeAsync")]
public abstract class EtcdFixture : IAsyncLifetime
{
    private readonly EtcdMember _member;
    private IEtcdClient? _client;

    private protected EtcdFixture(string executable, string name)
    {
        _member = new EtcdMember(executable, name);
    }

    /// <summary>What it is, for messages.</summary>
    public abstract string Description { get; }

    public string ClientUrl => _member.ClientUrl;

    /// <summary>A client shared by the class; tests that need their own call <see cref="NewClient"/>.</summary>
    public IEtcdClient Client => _client ?? throw new InvalidOperationException("etcd is not started");

    /// <summary>Whether the executable is there (the real one comes from a Debian package).</summary>
    public bool Available => File.Exists(_member.Executable);

    public IEtcdClient NewClient() => EtcdClient.Create(new EtcdClientOptions { Endpoints = [ClientUrl] });

    public async Task InitializeAsync()
    {
        if (!Available)
        {
            // The facts skip (or fail on the missing executable); nothing to start.
            return;
        }

        await _member.StartAsync();
        _client = NewClient();
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_client is not null)
            {
                await _client.DisposeAsync();
            }
        }
        finally
        {
            await _member.DisposeAsync();
        }
    }
}

/// <summary>The real etcd 3.4 (Debian's etcd-server): the data-compatibility reference.</summary>
public sealed class RealEtcd : EtcdFixture
{
    public RealEtcd()
        : base(EtcdMember.RealEtcdPath, "flannel-etcd")
    {
    }

    public override string Description => "real etcd 3.4";
}

/// <summary>Our etcd (<c>etcd/src/etcd</c>, built with this project) as a child process.</summary>
public sealed class OurEtcd : EtcdFixture
{
    public OurEtcd()
        : base(ExecutablePath, "flannel-our-etcd")
    {
    }

    public static string ExecutablePath { get; } = typeof(OurEtcd).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "OurEtcdExecutable").Value!;

    public override string Description => "our etcd";
}
