using System.Text;

namespace Platform.Etcd.Client;

/// <summary>
/// etcd's half-open key interval <c>[Key, RangeEnd)</c>: an empty <see cref="RangeEnd"/> means the
/// single key, <c>"\0"</c> means every key ≥ <see cref="Key"/>, and a prefix scan ends at the prefix
/// with its last byte below 0xff incremented (<c>"aa"</c> → <c>"ab"</c>, <c>"a\xff"</c> → <c>"b"</c>).
/// Strings are UTF-8. The arrays are not copied; do not mutate them after building a range.
/// </summary>
public sealed class KeyRange
{
    private static readonly byte[] s_zero = [0];

    private KeyRange(byte[] key, byte[] rangeEnd)
    {
        Key = key;
        RangeEnd = rangeEnd;
    }

    /// <summary>The first key of the range.</summary>
#pragma warning disable CA1819 // Raw bytes as on the wire; documented as not copied.
    public byte[] Key { get; }

    /// <summary>The exclusive end; empty for a single key.</summary>
    public byte[] RangeEnd { get; }
#pragma warning restore CA1819

    /// <summary>Every key.</summary>
    public static KeyRange All { get; } = new(s_zero, s_zero);

    /// <summary>Exactly <paramref name="key"/>.</summary>
    public static KeyRange Single(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new KeyRange(key, []);
    }

    public static KeyRange Single(string key) => Single(Utf8(key));

    /// <summary>Every key starting with <paramref name="prefix"/>; an empty prefix is every key.</summary>
    public static KeyRange Prefix(byte[] prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return prefix.Length == 0 ? All : new KeyRange(prefix, PrefixEnd(prefix));
    }

    public static KeyRange Prefix(string prefix) => Prefix(Utf8(prefix));

    /// <summary>Keys in <c>[from, toExclusive)</c>.</summary>
    public static KeyRange Between(byte[] from, byte[] toExclusive)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(toExclusive);
        if (toExclusive.Length == 0)
        {
            throw new ArgumentException("the end of a range cannot be empty (that means a single key); use Single", nameof(toExclusive));
        }

        return new KeyRange(from, toExclusive);
    }

    public static KeyRange Between(string from, string toExclusive) => Between(Utf8(from), Utf8(toExclusive));

    /// <summary>Every key ≥ <paramref name="key"/> (etcd's <c>--from-key</c>).</summary>
    public static KeyRange FromKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new KeyRange(key.Length == 0 ? s_zero : key, s_zero);
    }

    public static KeyRange FromKey(string key) => FromKey(Utf8(key));

    /// <summary>
    /// The end of the prefix scan for <paramref name="prefix"/>: drop trailing 0xff bytes and increment
    /// the last remaining byte; <c>"\0"</c> (no end) when every byte is 0xff (etcd's <c>GetPrefixRangeEnd</c>).
    /// </summary>
    public static byte[] PrefixEnd(byte[] prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        for (int i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xff)
            {
                byte[] end = prefix[..(i + 1)];
                end[i]++;
                return end;
            }
        }

        return [0];
    }

    public override string ToString() =>
        RangeEnd.Length == 0 ? $"[{Show(Key)}]" : $"[{Show(Key)}, {Show(RangeEnd)})";

    internal static byte[] Utf8(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Encoding.UTF8.GetBytes(value);
    }

    private static string Show(byte[] bytes) => bytes is [0] ? "\\0" : Encoding.UTF8.GetString(bytes);
}
