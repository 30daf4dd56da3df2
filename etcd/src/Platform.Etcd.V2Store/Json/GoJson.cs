using System.Globalization;
using System.Text;

namespace Platform.Etcd.V2Store.Json;

/// <summary>
/// The bits of Go's encoding/json that show in etcd's output: its string escaping and the
/// RFC 3339 time format with trimmed nanoseconds.
/// </summary>
public static class GoJson
{
    private const string HexDigits = "0123456789abcdef";

    /// <summary>
    /// Appends <paramref name="value"/> as a JSON string the way Go escapes it: quote and
    /// backslash escaped, \n \r \t, other control characters and the HTML-sensitive &lt; &gt; &amp;
    /// plus U+2028/U+2029 as \u00XX/\u20XX, everything else (non-ASCII included) as is.
    /// </summary>
    public static void AppendString(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                case < ' ' or '<' or '>' or '&' or '\u2028' or '\u2029':
                    builder.Append("\\u")
                        .Append(HexDigits[(c >> 12) & 0xF])
                        .Append(HexDigits[(c >> 8) & 0xF])
                        .Append(HexDigits[(c >> 4) & 0xF])
                        .Append(HexDigits[c & 0xF]);
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
    }

    /// <summary>
    /// Go's <c>time.RFC3339Nano</c> in UTC: <c>2013-12-04T12:01:21.874888581Z</c>, trailing zeros of
    /// the fraction dropped and no fraction at all on a whole second. (.NET keeps 100 ns ticks, so
    /// at most seven fraction digits appear.)
    /// </summary>
    public static string FormatTime(DateTimeOffset time)
    {
        DateTime utc = time.UtcDateTime;
        string text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        long fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0)
        {
            text += "." + fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0');
        }

        return text + "Z";
    }

    /// <summary>Parses RFC 3339 with any number of fraction digits (Go writes up to nine) and any offset.</summary>
    public static DateTimeOffset ParseTime(string text)
    {
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            int end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            // Keep at most 7 digits (100 ns ticks); truncating, as the extra digits cannot be held.
            string digits = text[(dot + 1)..end];
            text = text[..dot] + (digits.Length > 0 ? "." + digits[..Math.Min(7, digits.Length)] : "") + text[end..];
        }

        return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
    }
}
