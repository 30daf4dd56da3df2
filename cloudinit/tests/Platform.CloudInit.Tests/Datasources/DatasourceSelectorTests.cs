using Microsoft.Extensions.Time.Testing;
using Platform.CloudInit.Datasources;

namespace Platform.CloudInit.Tests.Datasources;

public sealed class DatasourceSelectorTests
{
    private sealed class ScriptedSource : IDatasource
    {
        private readonly Func<int, bool> _availableOnCheck;

        public ScriptedSource(string type, Func<int, bool> availableOnCheck, bool availabilityChanges = true)
        {
            Type = type;
            _availableOnCheck = availableOnCheck;
            AvailabilityChanges = availabilityChanges;
        }

        public string Type { get; }

        public bool AvailabilityChanges { get; }

        public int Checks { get; private set; }

        public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) => Task.FromResult(_availableOnCheck(++Checks));

        public Task<DatasourceContent> FetchAsync(CancellationToken cancellationToken) => Task.FromResult(new DatasourceContent([], Metadata.Empty));
    }

    [Fact]
    public async Task SelectAsync_OneAvailableAtOnce_WinsWithoutWaiting()
    {
        var never = new ScriptedSource("never", _ => false);
        var ready = new ScriptedSource("ready", _ => true);

        IDatasource? chosen = await new DatasourceSelector(new FakeTimeProvider()).SelectAsync([never, ready], CancellationToken.None);

        Assert.Same(ready, chosen);
    }

    [Fact]
    public async Task SelectAsync_AvailableOnThirdCheck_PolledWithBackoff()
    {
        var time = new FakeTimeProvider();
        var late = new ScriptedSource("late", n => n >= 3);
        Task<IDatasource?> selecting = new DatasourceSelector(time).SelectAsync([late], CancellationToken.None);

        while (!selecting.IsCompleted)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
        }

        Assert.Same(late, await selecting);
        Assert.Equal(3, late.Checks);
    }

    [Fact]
    public async Task SelectAsync_AllPermanentlyUnavailable_NullWithoutTimeout()
    {
        var gone = new ScriptedSource("gone", _ => false, availabilityChanges: false);

        IDatasource? chosen = await new DatasourceSelector(new FakeTimeProvider()).SelectAsync([gone], CancellationToken.None);

        Assert.Null(chosen);
        Assert.Equal(1, gone.Checks);
    }

    [Fact]
    public async Task SelectAsync_NeverAvailable_NullAfterTimeout()
    {
        var time = new FakeTimeProvider();
        var never = new ScriptedSource("never", _ => false);
        Task<IDatasource?> selecting = new DatasourceSelector(time) { Timeout = TimeSpan.FromSeconds(10) }.SelectAsync([never], CancellationToken.None);

        while (!selecting.IsCompleted)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }

        Assert.Null(await selecting);
        // Not before the timeout (the loop may advance a little past it before it observes completion).
        Assert.True(time.GetUtcNow() - new FakeTimeProvider().GetUtcNow() >= TimeSpan.FromSeconds(10));
    }
}
