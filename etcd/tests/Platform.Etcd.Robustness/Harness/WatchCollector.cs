using System.Diagnostics;
using Platform.Etcd.Client;
using Platform.Etcd.Robustness.Validation;

namespace Platform.Etcd.Robustness.Harness;

/// <summary>
/// A prefix watch from a given revision on one member, collecting every event in the background
/// (the client resumes a broken stream from the last delivered revision + 1 on the same member).
/// </summary>
internal sealed class WatchCollector : IAsyncDisposable
{
    private readonly IEtcdClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<WatchEventRecord> _events = [];
    private readonly Task _loop;
    private long _lastRevision;

    public WatchCollector(string name, IEtcdClient client, string prefix, long startRevision)
    {
        Name = name;
        Prefix = prefix;
        StartRevision = startRevision;
        _client = client;
        _loop = Task.Run(LoopAsync);
    }

    public string Name { get; }

    public string Prefix { get; }

    public long StartRevision { get; }

    /// <summary>What ended the stream other than our own stop (e.g. a compaction), if anything.</summary>
    public Exception? Error { get; private set; }

    public long LastRevision => Interlocked.Read(ref _lastRevision);

    public WatchRecord Record()
    {
        lock (_lock)
        {
            return new WatchRecord(Name, Prefix, StartRevision, [.. _events]);
        }
    }

    /// <summary>Polls until an event at or above <paramref name="revision"/> arrived; false on timeout or a dead stream.</summary>
    public async Task<bool> WaitForRevisionAsync(long revision, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (LastRevision < revision)
        {
            if (clock.Elapsed > timeout || _loop.IsCompleted)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        finally
        {
            await _client.DisposeAsync();
            _stop.Dispose();
        }
    }

    private async Task LoopAsync()
    {
        try
        {
            var options = new WatchOptions { StartRevision = StartRevision };
            await foreach (WatchResponse response in _client.Watch.WatchAsync(KeyRange.Prefix(Prefix), options, _stop.Token))
            {
                lock (_lock)
                {
                    foreach (WatchEvent e in response.Events)
                    {
                        _events.Add(new WatchEventRecord(e.Kv.ModRevision, e.Type == WatchEventType.Delete, e.Kv.KeyString, e.Kv.ValueString, e.Kv.CreateRevision, e.Kv.Version));
                        Interlocked.Exchange(ref _lastRevision, Math.Max(_lastRevision, e.Kv.ModRevision));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is EtcdClientException or OperationCanceledException or InvalidOperationException or IOException)
        {
            Error = e;
        }
    }
}
