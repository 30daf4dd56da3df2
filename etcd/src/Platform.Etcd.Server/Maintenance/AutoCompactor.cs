using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Platform.Etcd.Server.Maintenance;

/// <summary>
/// etcd's auto compaction (etcdserver/api/v3compactor), on the leader only.
/// Periodic: with retention R, every R/10 (R itself when R &lt; 1 h... etcd 3.4 uses R/10 for
/// R ≥ 1 h and R otherwise) compact to the revision recorded R ago. Revision: every 5 minutes,
/// compact to current − R.
/// </summary>
internal sealed class AutoCompactor : IDisposable
{
    private static readonly TimeSpan s_revisionInterval = TimeSpan.FromMinutes(5);
    private readonly Func<bool> _isLeader;
    private readonly Func<long> _currentRevision;
    private readonly Func<long, Task> _compact;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _periodic;
    private readonly TimeSpan _retention;
    private readonly long _retainRevisions;
    private readonly Queue<(DateTimeOffset At, long Revision)> _samples = new();
    private readonly ITimer _timer;
    private long _lastCompacted;

    private AutoCompactor(string mode, string retention, Func<bool> isLeader, Func<long> currentRevision, Func<long, Task> compact, TimeProvider time, ILogger logger)
    {
        _isLeader = isLeader;
        _currentRevision = currentRevision;
        _compact = compact;
        _time = time;
        _logger = logger;
        _periodic = mode == "periodic";
        TimeSpan interval;
        if (_periodic)
        {
            _retention = ParseRetention(retention);
            interval = _retention >= TimeSpan.FromHours(1) ? _retention / 10 : _retention;
        }
        else
        {
            _retainRevisions = long.Parse(retention, CultureInfo.InvariantCulture);
            interval = s_revisionInterval;
        }

        // Periodic mode samples the revision every tenth of the retention; revision mode checks every 5 minutes.
        TimeSpan sample = _periodic ? _retention / 10 : interval;
        _timer = time.CreateTimer(_ => Tick(), null, sample, sample);
    }

    /// <summary>A compactor for the options, or null when auto compaction is off (retention "0").</summary>
    public static AutoCompactor? Create(EtcdServerOptions options, Func<bool> isLeader, Func<long> currentRevision, Func<long, Task> compact, ILogger logger)
    {
        string retention = options.AutoCompactionRetention;
        if (string.IsNullOrEmpty(retention) || retention == "0")
        {
            return null;
        }

        if (options.AutoCompactionMode == "periodic" && ParseRetention(retention) <= TimeSpan.Zero)
        {
            return null;
        }

        return new AutoCompactor(options.AutoCompactionMode, retention, isLeader, currentRevision, compact, options.TimeProvider, logger);
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>"1h", "30m", "90s" (Go durations), or a bare number of hours (etcd's legacy form).</summary>
    internal static TimeSpan ParseRetention(string retention)
    {
        if (double.TryParse(retention, NumberStyles.Float, CultureInfo.InvariantCulture, out double hours))
        {
            return TimeSpan.FromHours(hours);
        }

        TimeSpan total = TimeSpan.Zero;
        string rest = retention;
        while (rest.Length > 0)
        {
            int i = 0;
            while (i < rest.Length && (char.IsDigit(rest[i]) || rest[i] == '.'))
            {
                i++;
            }

            int j = i;
            while (j < rest.Length && char.IsLetter(rest[j]))
            {
                j++;
            }

            if (i == 0 || j == i)
            {
                throw new ArgumentException($"invalid auto-compaction-retention {retention}");
            }

            double value = double.Parse(rest[..i], CultureInfo.InvariantCulture);
            total += rest[i..j] switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => throw new ArgumentException($"invalid auto-compaction-retention {retention}"),
            };
            rest = rest[j..];
        }

        return total;
    }

    private void Tick()
    {
        try
        {
            long current = _currentRevision();
            long target;
            if (_periodic)
            {
                DateTimeOffset now = _time.GetUtcNow();
                _samples.Enqueue((now, current));
                target = 0;
                while (_samples.Count > 0 && now - _samples.Peek().At >= _retention)
                {
                    target = _samples.Dequeue().Revision;
                }
            }
            else
            {
                target = current - _retainRevisions;
            }

            if (target <= 0 || target <= _lastCompacted || !_isLeader())
            {
                return;
            }

            _lastCompacted = target;
            _logger.LogInformation("compactor: starting auto compaction at revision {Revision}", target);
            _ = _compact(target).ContinueWith(
                t => _logger.LogWarning(t.Exception, "compactor: auto compaction at {Revision} failed", target),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted,
                TaskScheduler.Default);
        }
        catch (Exception e) when (e is EtcdException or ObjectDisposedException)
        {
            _logger.LogDebug(e, "compactor: skipped");
        }
    }
}
