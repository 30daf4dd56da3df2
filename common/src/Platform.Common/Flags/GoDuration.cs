using System.Globalization;
using System.Text;

namespace Platform.Common.Flags;

/// <summary>
/// Go's duration syntax (<c>300ms</c>, <c>1h30m</c>, <c>1.5s</c>, <c>-2us</c>), which the flags and
/// configuration files of etcd, flannel and rkt use. Units: ns, us (or µs), ms, s, m, h.
/// </summary>
public static class GoDuration
{
    /// <summary>Parses <paramref name="text"/>; returns false with an error message on bad input.</summary>
    public static bool TryParse(string text, out TimeSpan value, out string? error)
    {
        value = TimeSpan.Zero;
        error = null;
        ReadOnlySpan<char> s = text.AsSpan().Trim();
        if (s.IsEmpty)
        {
            error = "time: invalid duration \"\"";
            return false;
        }

        bool negative = false;
        if (s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s is "0")
        {
            return true;
        }

        decimal totalNanoseconds = 0;
        while (!s.IsEmpty)
        {
            int numberLength = 0;
            while (numberLength < s.Length && (char.IsAsciiDigit(s[numberLength]) || s[numberLength] == '.'))
            {
                numberLength++;
            }

            if (numberLength == 0 || !decimal.TryParse(s[..numberLength], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number))
            {
                error = $"time: invalid duration \"{text}\"";
                return false;
            }

            s = s[numberLength..];
            int unitLength = 0;
            while (unitLength < s.Length && !char.IsAsciiDigit(s[unitLength]) && s[unitLength] != '.')
            {
                unitLength++;
            }

            decimal? nanosecondsPerUnit = s[..unitLength] switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60m * 1_000_000_000m,
                "h" => 3600m * 1_000_000_000m,
                _ => null,
            };
            if (nanosecondsPerUnit is null)
            {
                error = unitLength == 0
                    ? $"time: missing unit in duration \"{text}\""
                    : $"time: unknown unit \"{s[..unitLength].ToString()}\" in duration \"{text}\"";
                return false;
            }

            totalNanoseconds += number * nanosecondsPerUnit.Value;
            s = s[unitLength..];
        }

        decimal ticks = Math.Round(totalNanoseconds / 100m);
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            error = $"time: invalid duration \"{text}\"";
            return false;
        }

        value = TimeSpan.FromTicks((long)(negative ? -ticks : ticks));
        return true;
    }

    /// <summary>Formats like Go's <c>time.Duration.String()</c>: <c>1h30m0s</c>, <c>250ms</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        if (value < TimeSpan.Zero)
        {
            sb.Append('-');
            value = value.Negate();
        }

        if (value < TimeSpan.FromSeconds(1))
        {
            double ms = value.TotalMilliseconds;
            if (ms >= 1)
            {
                return sb.Append(ms.ToString("0.######", CultureInfo.InvariantCulture)).Append("ms").ToString();
            }

            return sb.Append((value.Ticks / 10.0).ToString("0.#", CultureInfo.InvariantCulture)).Append("µs").ToString();
        }

        long hours = (long)value.TotalHours;
        if (hours > 0)
        {
            sb.Append(hours).Append('h');
        }

        if (hours > 0 || value.Minutes > 0)
        {
            sb.Append(value.Minutes).Append('m');
        }

        double seconds = value.Seconds + (value.Ticks % TimeSpan.TicksPerSecond / (double)TimeSpan.TicksPerSecond);
        return sb.Append(seconds.ToString("0.#########", CultureInfo.InvariantCulture)).Append('s').ToString();
    }
}
