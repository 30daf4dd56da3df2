using System.Globalization;

namespace Platform.CloudInit.Yaml;

/// <summary>
/// Resolves plain scalars with YAML 1.1 rules as go-yaml v1 (the library behind coreos-cloudinit)
/// does: the bool words include yes/no/on/off, integers take Go's base prefixes (0x, 0, 0b, 0o),
/// and a numeric-looking scalar that is not an integer is tried as a float (so <c>0999</c> is 999.0).
/// </summary>
internal static class ScalarResolver
{
    public static (YamlNodeKind Kind, object? Value) Resolve(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return (YamlNodeKind.Null, null);
            case "y" or "Y" or "yes" or "Yes" or "YES" or "true" or "True" or "TRUE" or "on" or "On" or "ON":
                return (YamlNodeKind.Bool, true);
            case "n" or "N" or "no" or "No" or "NO" or "false" or "False" or "FALSE" or "off" or "Off" or "OFF":
                return (YamlNodeKind.Bool, false);
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return (YamlNodeKind.Float, double.PositiveInfinity);
            case "-.inf" or "-.Inf" or "-.INF":
                return (YamlNodeKind.Float, double.NegativeInfinity);
            case ".nan" or ".NaN" or ".NAN":
                return (YamlNodeKind.Float, double.NaN);
        }

        char first = text[0];
        if (first is not ('+' or '-' or '.' or (>= '0' and <= '9')))
        {
            return (YamlNodeKind.String, text);
        }

        string plain = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (TryParseGoInt(plain, out long integer))
        {
            return (YamlNodeKind.Int, integer);
        }

        if (TryParseGoFloat(plain, out double number))
        {
            return (YamlNodeKind.Float, number);
        }

        return (YamlNodeKind.String, text);
    }

    /// <summary>Go's <c>strconv.ParseInt(s, 0, 64)</c>: optional sign, then 0x/0o/0b/0 (octal) or decimal.</summary>
    internal static bool TryParseGoInt(string text, out long value)
    {
        value = 0;
        ReadOnlySpan<char> s = text;
        bool negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s.Length == 0)
        {
            return false;
        }

        int radix = 10;
        if (s.Length > 1 && s[0] == '0')
        {
            switch (s[1])
            {
                case 'x' or 'X':
                    radix = 16;
                    s = s[2..];
                    break;
                case 'o' or 'O':
                    radix = 8;
                    s = s[2..];
                    break;
                case 'b' or 'B':
                    radix = 2;
                    s = s[2..];
                    break;
                default:
                    radix = 8;
                    s = s[1..];
                    break;
            }
        }

        if (s.Length == 0)
        {
            return false;
        }

        ulong magnitude = 0;
        foreach (char c in s)
        {
            int digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                return false;
            }

            ulong next = (magnitude * (ulong)radix) + (ulong)digit;
            if (next / (ulong)radix != magnitude && magnitude != 0)
            {
                return false;
            }

            magnitude = next;
        }

        if (negative ? magnitude > 9223372036854775808UL : magnitude > long.MaxValue)
        {
            return false;
        }

        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }

    private static bool TryParseGoFloat(string text, out double value)
    {
        // Go's ParseFloat accepts decimal forms with an optional exponent; the leading-character
        // check in Resolve already keeps "inf"/"nan" words out, as go-yaml's resolve table does.
        foreach (char c in text)
        {
            if (c is not ((>= '0' and <= '9') or '.' or 'e' or 'E' or '+' or '-'))
            {
                value = 0;
                return false;
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
