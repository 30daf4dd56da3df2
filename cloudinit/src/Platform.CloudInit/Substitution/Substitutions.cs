using System.Net;
using System.Text;
using Platform.CloudInit.Datasources;

namespace Platform.CloudInit.Substitution;

/// <summary>
/// <c>$public_ipv4</c>, <c>$private_ipv4</c>, <c>$public_ipv6</c>, <c>$private_ipv6</c>: values from
/// datasource metadata, falling back to <c>COREOS_PUBLIC_IPV4</c>-style environment variables, as
/// coreos-cloudinit's initialize/env.go. A token preceded by <c>\</c> is left as the token.
/// </summary>
public sealed class Substitutions
{
    private static readonly (string Token, string Env)[] s_tokens =
    [
        ("$public_ipv4", "COREOS_PUBLIC_IPV4"),
        ("$private_ipv4", "COREOS_PRIVATE_IPV4"),
        ("$public_ipv6", "COREOS_PUBLIC_IPV6"),
        ("$private_ipv6", "COREOS_PRIVATE_IPV6"),
    ];

    private readonly Dictionary<string, string> _values;

    private Substitutions(Dictionary<string, string> values)
    {
        _values = values;
    }

    /// <summary>Builds the values from <paramref name="metadata"/>, then <paramref name="environment"/> for the gaps.</summary>
    public static Substitutions From(Metadata metadata, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(environment);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string token, string env) in s_tokens)
        {
            IPAddress? ip = token switch
            {
                "$public_ipv4" => metadata.PublicIPv4,
                "$private_ipv4" => metadata.PrivateIPv4,
                "$public_ipv6" => metadata.PublicIPv6,
                _ => metadata.PrivateIPv6,
            };
            values[token] = ip?.ToString() ?? environment(env) ?? string.Empty;
        }

        return new Substitutions(values);
    }

    /// <summary>The value for a token such as <c>$private_ipv4</c> (empty when unknown).</summary>
    public string this[string token] => _values.GetValueOrDefault(token, string.Empty);

    /// <summary>
    /// Replaces every token in <paramref name="data"/> with its value (an unknown value replaces with
    /// the empty string, as coreos-cloudinit does) and turns <c>\$token</c> into <c>$token</c>.
    /// </summary>
    public string Apply(string data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.Contains('$', StringComparison.Ordinal))
        {
            return data;
        }

        var sb = new StringBuilder(data.Length);
        int i = 0;
        while (i < data.Length)
        {
            char c = data[i];
            if (c == '\\' && i + 1 < data.Length && data[i + 1] == '$' && TokenAt(data, i + 1) is string escaped)
            {
                sb.Append(escaped);
                i += 1 + escaped.Length;
                continue;
            }

            if (c == '$' && TokenAt(data, i) is string token)
            {
                sb.Append(_values[token]);
                i += token.Length;
                continue;
            }

            sb.Append(c);
            i++;
        }

        return sb.ToString();
    }

    /// <summary>
    /// The <c>COREOS_*</c> variables with a value, for /etc/environment (sorted by name, as
    /// coreos-cloudinit appends new keys).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> EnvironmentVariables() =>
        s_tokens.Where(t => _values[t.Token].Length > 0)
            .Select(t => new KeyValuePair<string, string>(t.Env, _values[t.Token]))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ToList();

    private static string? TokenAt(string data, int index)
    {
        foreach ((string token, _) in s_tokens)
        {
            if (string.CompareOrdinal(data, index, token, 0, token.Length) == 0)
            {
                return token;
            }
        }

        return null;
    }
}
