using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Platform.Flannel.Cni.Cni;

/// <summary>
/// JSON as Go's <c>encoding/json</c> writes a <c>map[string]interface{}</c>: compact, object keys
/// sorted by their UTF-8 bytes, <c>&lt; &gt; &amp;</c> and U+2028/U+2029 escaped as <c>\u00XX</c>,
/// numbers as float64 (shortest form, exponent only below 1e-6 or from 1e21). flannel's plugin
/// marshals the delegate configuration this way, so ours is byte-identical for the same input.
/// Reading goes through <see cref="Parse"/>: duplicate keys keep the last value, as Go does.
/// </summary>
internal static class GoJson
{
    private const string Hex = "0123456789abcdef";

    /// <summary>Parses JSON text into a tree (duplicate keys: last wins).</summary>
    /// <exception cref="JsonException">Not valid JSON.</exception>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        using JsonDocument document = JsonDocument.ParseValue(ref reader);
        return FromElement(document.RootElement);
    }

    public static JsonNode? FromElement(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    obj[property.Name] = FromElement(property.Value);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (JsonElement item in element.EnumerateArray())
                {
                    array.Add(FromElement(item));
                }

                return array;
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString()!);
            case JsonValueKind.Number:
                // Go decodes every number of an interface{} as float64.
                if (!element.TryGetDouble(out double number) || double.IsInfinity(number))
                {
                    throw new JsonException($"cannot unmarshal number {element.GetRawText()} into Go value of type float64");
                }

                return JsonValue.Create(number);
            case JsonValueKind.True:
                return JsonValue.Create(true);
            case JsonValueKind.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    public static string Serialize(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(node, text);
        return text.ToString();
    }

    public static void Write(JsonNode? node, StringBuilder text)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                text.Append('{');
                bool first = true;
                foreach (KeyValuePair<string, JsonNode?> pair in obj.OrderBy(p => p.Key, Utf8Order.Instance))
                {
                    if (!first)
                    {
                        text.Append(',');
                    }

                    first = false;
                    AppendQuoted(pair.Key, text);
                    text.Append(':');
                    Write(pair.Value, text);
                }

                text.Append('}');
                break;
            case JsonArray array:
                text.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        text.Append(',');
                    }

                    Write(array[i], text);
                }

                text.Append(']');
                break;
            case JsonValue value:
                WriteValue(value, text);
                break;
        }
    }

    private static void WriteValue(JsonValue value, StringBuilder text)
    {
        if (value.TryGetValue(out string? s))
        {
            AppendQuoted(s, text);
        }
        else if (value.TryGetValue(out bool b))
        {
            text.Append(b ? "true" : "false");
        }
        else if (value.TryGetValue(out double d))
        {
            text.Append(FormatFloat(d));
        }
        else if (value.TryGetValue(out long l))
        {
            text.Append(l.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue(out ulong u))
        {
            text.Append(u.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue(out int i))
        {
            text.Append(i.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue(out uint ui))
        {
            text.Append(ui.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            throw new InvalidOperationException($"unsupported JSON value kind {value.GetValueKind()}");
        }
    }

    /// <summary>A Go-quoted JSON string.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2);
        AppendQuoted(value, text);
        return text.ToString();
    }

    private static void AppendQuoted(string value, StringBuilder text)
    {
        text.Append('"');
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case '\b':
                    text.Append("\\b");
                    break;
                case '\f':
                    text.Append("\\f");
                    break;
                case '<' or '>' or '&' or '\u2028' or '\u2029':
                    AppendEscape(c, text);
                    break;
                default:
                    if (c < 0x20)
                    {
                        AppendEscape(c, text);
                    }
                    else if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                    {
                        text.Append(c).Append(value[++i]);
                    }
                    else if (char.IsSurrogate(c))
                    {
                        // A lone surrogate is invalid UTF-8 on Go's side: U+FFFD.
                        text.Append("\\ufffd");
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        text.Append('"');
    }

    private static void AppendEscape(char c, StringBuilder text) =>
        text.Append("\\u").Append(Hex[(c >> 12) & 0xF]).Append(Hex[(c >> 8) & 0xF]).Append(Hex[(c >> 4) & 0xF]).Append(Hex[c & 0xF]);

    /// <summary>
    /// Go's float64 encoding: <c>strconv.FormatFloat(f, 'f', -1, 64)</c>, or <c>'e'</c> when
    /// |f| &lt; 1e-6 or ≥ 1e21, with a two-digit negative exponent shortened (<c>1e-07</c> → <c>1e-7</c>).
    /// </summary>
    public static string FormatFloat(double value)
    {
        if (value == 0)
        {
            return "0";
        }

        // Shortest round-trip digits and the decimal exponent, from .NET's "E16"-free "R" form.
        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        bool negative = shortest.StartsWith('-');
        string body = negative ? shortest[1..] : shortest;
        int exponent = 0;
        int e = body.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(body.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            body = body[..e];
        }

        int dot = body.IndexOf('.', StringComparison.Ordinal);
        string digits = dot >= 0 ? body.Remove(dot, 1) : body;
        int pointPosition = (dot >= 0 ? dot : body.Length) + exponent;
        int leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.TrimStart('0');
        pointPosition -= leadingZeros;
        digits = digits.TrimEnd('0');

        // value = 0.<digits> × 10^pointPosition
        double abs = Math.Abs(value);
        var text = new StringBuilder();
        if (negative)
        {
            text.Append('-');
        }

        if (abs < 1e-6 || abs >= 1e21)
        {
            text.Append(digits[0]);
            if (digits.Length > 1)
            {
                text.Append('.').Append(digits, 1, digits.Length - 1);
            }

            int exp = pointPosition - 1;
            text.Append('e').Append(exp < 0 ? '-' : '+');
            int magnitude = Math.Abs(exp);
            // Go writes at least two exponent digits, then encoding/json drops the 0 of e-0X.
            text.Append(exp < 0 || magnitude >= 10 ? magnitude.ToString(CultureInfo.InvariantCulture) : "0" + magnitude.ToString(CultureInfo.InvariantCulture));
            return text.ToString();
        }

        if (pointPosition <= 0)
        {
            text.Append("0.").Append('0', -pointPosition).Append(digits);
        }
        else if (pointPosition >= digits.Length)
        {
            text.Append(digits).Append('0', pointPosition - digits.Length);
        }
        else
        {
            text.Append(digits, 0, pointPosition).Append('.').Append(digits, pointPosition, digits.Length - pointPosition);
        }

        return text.ToString();
    }

    /// <summary>Go's <c>strings.Compare</c> on map keys: UTF-8 byte order.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(string? x, string? y) =>
            Encoding.UTF8.GetBytes(x ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? ""));
    }
}
