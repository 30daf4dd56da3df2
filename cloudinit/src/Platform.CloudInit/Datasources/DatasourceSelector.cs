namespace Platform.CloudInit.Datasources;

/// <summary>
/// Races datasources for availability as coreos-cloudinit's selectDatasource: each is polled with
/// exponential backoff (100 ms doubling to 30 s) until it is available, reports it never will be,
/// or the overall timeout (5 min) passes. The first available source wins.
/// </summary>
public sealed class DatasourceSelector
{
    private readonly TimeProvider _timeProvider;

    public DatasourceSelector(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
    }

    public TimeSpan InitialInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Invoked before each availability check (for "Checking availability of ..." logs).</summary>
    public Action<IDatasource>? OnCheck { get; init; }

    /// <summary>The first source found available, or null when none is within <see cref="Timeout"/>.</summary>
    public async Task<IDatasource?> SelectAsync(IReadOnlyList<IDatasource> sources, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sources);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var winner = new TaskCompletionSource<IDatasource?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task[] pollers = sources.Select(s => PollAsync(s, winner, stop.Token)).ToArray();
        Task allDone = Task.WhenAll(pollers);
        Task timeout = Task.Delay(Timeout, _timeProvider, stop.Token);
        Task first = await Task.WhenAny(winner.Task, allDone, timeout).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await allDone.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Pollers stop by cancellation once a winner is known.
        }

        cancellationToken.ThrowIfCancellationRequested();
        return winner.Task.IsCompletedSuccessfully ? winner.Task.Result : null;
    }

    private async Task PollAsync(IDatasource source, TaskCompletionSource<IDatasource?> winner, CancellationToken cancellationToken)
    {
        TimeSpan interval = InitialInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            OnCheck?.Invoke(source);
            if (await source.IsAvailableAsync(cancellationToken).ConfigureAwait(false))
            {
                winner.TrySetResult(source);
                return;
            }

            if (!source.AvailabilityChanges)
            {
                return;
            }

            await Task.Delay(interval, _timeProvider, cancellationToken).ConfigureAwait(false);
            interval = interval * 2 > MaxInterval ? MaxInterval : interval * 2;
        }
    }
}
