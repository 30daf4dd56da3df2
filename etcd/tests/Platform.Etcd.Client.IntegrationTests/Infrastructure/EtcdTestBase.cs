using System.Text;

namespace Platform.Etcd.Client.IntegrationTests.Infrastructure;

/// <summary>
/// Base of every server test: a client for the fixture's cluster (disposed after each test), a key
/// prefix of the test's own, and a patience bound for anything awaited (no sleeps: tests await
/// events, bounded by <see cref="Patience"/>).
/// </summary>
public abstract class EtcdTestBase<TFixture> : IAsyncLifetime
    where TFixture : EtcdServerFixture
{
    /// <summary>How long any awaited event may take before the test fails.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected EtcdTestBase(TFixture fixture)
    {
        Fixture = fixture;
        Client = fixture.CreateClient();
        Prefix = $"/test/{Guid.NewGuid():N}/";
    }

    protected TFixture Fixture { get; }

    protected IEtcdClient Client { get; }

    /// <summary>Every key a test writes starts with this.</summary>
    protected string Prefix { get; }

    protected string Key(string name) => Prefix + name;

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync() => await Client.DisposeAsync();

    /// <summary>Reads batches from <paramref name="watch"/> until <paramref name="count"/> events arrived (more in the last batch fail the test).</summary>
    protected static async Task<List<WatchEvent>> TakeEventsAsync(IAsyncEnumerator<WatchResponse> watch, int count)
    {
        var events = new List<WatchEvent>();
        while (events.Count < count)
        {
            Assert.True(await watch.MoveNextAsync(), "the watch ended");
            events.AddRange(watch.Current.Events);
        }

        Assert.Equal(count, events.Count);
        return events;
    }

    protected static string Show(IEnumerable<WatchEvent> events) =>
        string.Join(' ', events.Select(e => $"{e.Type}:{e.Kv.KeyString}@{e.Kv.ModRevision}"));
}
