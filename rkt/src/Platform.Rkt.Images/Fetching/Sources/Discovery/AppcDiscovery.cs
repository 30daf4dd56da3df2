using System.Net;
using System.Text.RegularExpressions;

namespace Platform.Rkt.Images.Fetching.Sources.Discovery;

/// <summary>One discovered ACI location and its signature.</summary>
public sealed record AciEndpoint(Uri Aci, Uri Signature);

/// <summary>What discovery found for an app.</summary>
public sealed record DiscoveryResult(IReadOnlyList<AciEndpoint> AciEndpoints, IReadOnlyList<Uri> PublicKeys, bool OverHttps);

/// <summary>
/// appc meta discovery (<c>spec/discovery.md</c>): GET <c>https://{name}?ac-discovery=1</c>, read
/// <c>&lt;meta name="ac-discovery" content="prefix template"&gt;</c> and <c>ac-discovery-pubkeys</c>
/// whose prefix starts the name, fill templates' <c>{name}</c>, <c>{version}</c>, <c>{os}</c>,
/// <c>{arch}</c>, <c>{ext}</c> and other labels (a template with an unfilled variable is skipped), and
/// walk to the parent path while nothing is found. Redirects are followed; plain HTTP is tried only
/// with <c>--insecure-options=http</c>.
/// </summary>
public static partial class AppcDiscovery
{
    /// <summary>Discovers ACI endpoints (or, with <paramref name="publicKeysOnly"/>, only keys).</summary>
    public static async Task<DiscoveryResult> DiscoverAsync(
        AppReference app, HttpClient http, InsecureOptions insecure, int port, bool publicKeysOnly, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(http);
        var failures = new List<string>();
        string path = app.Name;
        while (true)
        {
            foreach (string scheme in (insecure & InsecureOptions.Http) != 0 ? (string[])["https", "http"] : ["https"])
            {
                string? html = await GetPageAsync(http, scheme, path, port, failures, cancellationToken).ConfigureAwait(false);
                if (html is null)
                {
                    continue;
                }

                var (templates, keys) = ParseMeta(html);
                var endpoints = new List<AciEndpoint>();
                foreach ((string prefix, string template) in templates)
                {
                    if (!app.Name.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    string? aci = Render(template, app, "aci");
                    string? asc = Render(template, app, "aci.asc");
                    if (aci is not null && asc is not null && Uri.TryCreate(aci, UriKind.Absolute, out Uri? aciUri) && Uri.TryCreate(asc, UriKind.Absolute, out Uri? ascUri))
                    {
                        endpoints.Add(new AciEndpoint(aciUri, ascUri));
                    }
                }

                var pubkeys = keys
                    .Where(k => app.Name.StartsWith(k.Prefix, StringComparison.Ordinal))
                    .Select(k => Uri.TryCreate(k.Url, UriKind.Absolute, out Uri? u) ? u : null)
                    .OfType<Uri>()
                    .ToList();
                bool found = publicKeysOnly ? pubkeys.Count > 0 : endpoints.Count > 0;
                if (found)
                {
                    return new DiscoveryResult(endpoints, pubkeys, scheme == "https");
                }

                failures.Add($"{scheme}://{path}: no ac-discovery{(publicKeysOnly ? "-pubkeys" : string.Empty)} meta tag matching {app.Name}");
            }

            int slash = path.LastIndexOf('/');
            if (slash <= 0)
            {
                break;
            }

            path = path[..slash];
        }

        throw new FetchException($"discovery failed for {app.Name}:\n  {string.Join("\n  ", failures)}");
    }

    /// <summary>The (prefix, template) and (prefix, url) pairs of a page's discovery meta tags.</summary>
    public static (List<(string Prefix, string Template)> Templates, List<(string Prefix, string Url)> PublicKeys) ParseMeta(string html)
    {
        var templates = new List<(string, string)>();
        var keys = new List<(string, string)>();
        foreach (Match meta in MetaTagRegex().Matches(html))
        {
            var attributes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (Match attribute in AttributeRegex().Matches(meta.Groups["attrs"].Value))
            {
                string value = attribute.Groups["dq"].Success ? attribute.Groups["dq"].Value
                    : attribute.Groups["sq"].Success ? attribute.Groups["sq"].Value
                    : attribute.Groups["bare"].Value;
                attributes[attribute.Groups["name"].Value] = WebUtility.HtmlDecode(value);
            }

            if (!attributes.TryGetValue("name", out string? name) || !attributes.TryGetValue("content", out string? content))
            {
                continue;
            }

            string[] fields = content.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 2)
            {
                continue;
            }

            if (name == "ac-discovery")
            {
                templates.Add((fields[0], fields[1]));
            }
            else if (name == "ac-discovery-pubkeys")
            {
                keys.Add((fields[0], fields[1]));
            }
        }

        return (templates, keys);
    }

    /// <summary>Fills a template; null when a variable has no value.</summary>
    public static string? Render(string template, AppReference app, string ext)
    {
        var values = new Dictionary<string, string>(app.Labels, StringComparer.Ordinal)
        {
            ["name"] = app.Name,
            ["ext"] = ext,
        };
        bool missing = false;
        string result = VariableRegex().Replace(template, m =>
        {
            if (values.TryGetValue(m.Groups[1].Value, out string? value))
            {
                return value;
            }

            missing = true;
            return m.Value;
        });
        return missing ? null : result;
    }

    private static async Task<string?> GetPageAsync(HttpClient http, string scheme, string path, int port, List<string> failures, CancellationToken cancellationToken)
    {
        int slash = path.IndexOf('/', StringComparison.Ordinal);
        string host = slash < 0 ? path : path[..slash];
        string rest = slash < 0 ? string.Empty : path[slash..];
        var uri = new UriBuilder(scheme, host, port == 0 ? -1 : port, rest) { Query = "ac-discovery=1" }.Uri;
        try
        {
            using HttpResponseMessage response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                failures.Add($"{uri}: HTTP {(int)response.StatusCode}");
                return null;
            }

            if (response.RequestMessage?.RequestUri is { Scheme: "http" } final && scheme == "https")
            {
                failures.Add($"{uri}: redirected to plain HTTP {final}");
                return null;
            }

            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            failures.Add($"{uri}: {e.Message}");
            return null;
        }
    }

    [GeneratedRegex(@"<meta\s(?<attrs>[^>]*)>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MetaTagRegex();

    [GeneratedRegex("(?<name>[A-Za-z-]+)\\s*=\\s*(?:\"(?<dq>[^\"]*)\"|'(?<sq>[^']*)'|(?<bare>[^\\s\"'>]+))", RegexOptions.CultureInvariant)]
    private static partial Regex AttributeRegex();

    [GeneratedRegex(@"\{([^{}]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex VariableRegex();
}
