using System.Globalization;

namespace Platform.Rkt.Pods;

/// <summary>Kubernetes resource quantities as rkt's <c>--memory</c> and <c>--cpu</c> take them.</summary>
public static class Quantity
{
    private static readonly (string Suffix, long Factor)[] s_suffixes =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
        ("k", 1000), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ];

    /// <summary>Bytes of a memory quantity (<c>128M</c> = 128·10⁶, <c>1Gi</c> = 2³⁰, plain numbers are bytes).</summary>
    /// <exception cref="FormatException">Not a positive quantity.</exception>
    public static long ParseBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        foreach ((string suffix, long factor) in s_suffixes)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && decimal.TryParse(t[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value) && value > 0)
            {
                return (long)(value * factor);
            }
        }

        return long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) && bytes > 0
            ? bytes
            : throw new FormatException($"invalid memory quantity \"{text}\" (e.g. 128M, 1Gi)");
    }

    /// <summary>Millicores of a CPU quantity (<c>500m</c> = 500, <c>2</c> = 2000, <c>0.5</c> = 500).</summary>
    /// <exception cref="FormatException">Not a positive quantity.</exception>
    public static long ParseMillicores(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t.EndsWith('m') && long.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out long milli) && milli > 0)
        {
            return milli;
        }

        return decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal cores) && cores > 0
            ? (long)(cores * 1000)
            : throw new FormatException($"invalid CPU quantity \"{text}\" (e.g. 500m, 2)");
    }
}
