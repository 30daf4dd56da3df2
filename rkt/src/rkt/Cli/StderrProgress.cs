using System.Globalization;
using Platform.Rkt.Images;

namespace Platform.Rkt.Cli;

/// <summary>
/// rkt-style progress on stderr: a redrawn bar (<c>Downloading ACI: [=====     ] 1.2 MB/5 MB</c>) on a
/// terminal; on a pipe, one line when each transfer finishes so logs stay readable.
/// </summary>
internal sealed class StderrProgress : IProgressSink
{
    private const int BarWidth = 40;
    private readonly TextWriter _stderr;
    private readonly string _prefix;
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private readonly Lock _lock = new();
    private long _lastDrawTicks;
    private string? _current;

    public StderrProgress(TextWriter stderr, string prefix)
    {
        _stderr = stderr;
        _prefix = prefix.Split(' ')[0];
    }

    public void Progress(string what, long done, long? total)
    {
        lock (_lock)
        {
            bool finished = total is { } t && done >= t;
            if (_interactive)
            {
                long now = Environment.TickCount64;
                if (!finished && what == _current && now - _lastDrawTicks < 100)
                {
                    return;
                }

                _lastDrawTicks = now;
                _current = finished ? null : what;
                _stderr.Write($"\r{Line(what, done, total)}");
                if (finished)
                {
                    _stderr.WriteLine();
                }
            }
            else if (finished && what.StartsWith("Downloading", StringComparison.Ordinal))
            {
                _stderr.WriteLine(Line(what, done, total));
            }
        }
    }

    public void Message(string message)
    {
        lock (_lock)
        {
            if (_current is not null)
            {
                _stderr.WriteLine();
                _current = null;
            }

            _stderr.WriteLine(message.StartsWith("image:", StringComparison.Ordinal) ? $"{_prefix}: {message["image: ".Length..]}" : message);
        }
    }

    private static string Line(string what, long done, long? total)
    {
        if (total is not { } t || t <= 0 || what.Contains("layer", StringComparison.Ordinal))
        {
            return total is { } count && what.Contains("layer", StringComparison.Ordinal) ? $"{what} {done}/{count}" : $"{what}: {Bytes(done)}";
        }

        int filled = (int)Math.Clamp(done * BarWidth / t, 0, BarWidth);
        return $"{what}: [{new string('=', filled)}{new string(' ', BarWidth - filled)}] {Bytes(done)}/{Bytes(t)}";
    }

    /// <summary>go-humanize's SI byte sizes, as rkt prints them.</summary>
    internal static string Bytes(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }
}
