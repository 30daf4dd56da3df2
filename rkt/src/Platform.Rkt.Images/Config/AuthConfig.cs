using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Platform.Rkt.Images.Config;

/// <summary>
/// rkt's <c>auth.d</c> configuration (<c>Documentation/configuration.md</c>): JSON files with
/// <c>rktKind</c> <c>auth</c> (HTTP basic or OAuth bearer credentials per domain, for ACI downloads
/// and discovery) or <c>dockerAuth</c> (user and password per registry). Files are read from the
/// system, local and user configuration in that order; later files override earlier ones.
/// </summary>
public sealed class AuthConfig
{
    private readonly Dictionary<string, AuthenticationHeaderValue> _domains = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (string User, string Password)> _registries = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>No credentials.</summary>
    public static AuthConfig Empty { get; } = new();

    /// <summary>Reads <c>auth.d/*.json</c> below each directory, in order.</summary>
    /// <exception cref="InvalidDataException">A file is not valid configuration.</exception>
    public static AuthConfig Load(IEnumerable<string> configDirectories)
    {
        var config = new AuthConfig();
        foreach (string dir in configDirectories)
        {
            string authDir = Path.Combine(dir, "auth.d");
            if (!Directory.Exists(authDir))
            {
                continue;
            }

            foreach (string file in Directory.EnumerateFiles(authDir, "*.json").Order(StringComparer.Ordinal))
            {
                config.AddFile(file);
            }
        }

        return config;
    }

    /// <summary>The Authorization header for requests to <paramref name="host"/>, or null.</summary>
    public AuthenticationHeaderValue? HeaderFor(string host) => _domains.GetValueOrDefault(host);

    /// <summary>Credentials for a Docker registry host, or null.</summary>
    public (string User, string Password)? DockerCredentialsFor(string registry) =>
        _registries.TryGetValue(registry, out var credentials) ? credentials : null;

    private void AddFile(string file)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(file));
            JsonElement root = doc.RootElement;
            string kind = root.GetProperty("rktKind").GetString() ?? string.Empty;
            JsonElement credentials = root.GetProperty("credentials");
            switch (kind)
            {
                case "auth":
                    string type = root.GetProperty("type").GetString() ?? string.Empty;
                    AuthenticationHeaderValue header = type switch
                    {
                        "basic" => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                            $"{credentials.GetProperty("user").GetString()}:{credentials.GetProperty("password").GetString()}"))),
                        "oauth" => new AuthenticationHeaderValue("Bearer", credentials.GetProperty("token").GetString()),
                        _ => throw new InvalidDataException($"{file}: unknown auth type \"{type}\" (basic or oauth)"),
                    };
                    foreach (JsonElement domain in root.GetProperty("domains").EnumerateArray())
                    {
                        _domains[domain.GetString()!] = header;
                    }

                    break;
                case "dockerAuth":
                    var pair = (credentials.GetProperty("user").GetString() ?? string.Empty, credentials.GetProperty("password").GetString() ?? string.Empty);
                    foreach (JsonElement registry in root.GetProperty("registries").EnumerateArray())
                    {
                        _registries[registry.GetString()!] = pair;
                    }

                    break;
                default:
                    break; // paths, stage1: other parts of rkt read them.
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"{file}: invalid rkt configuration: {e.Message}", e);
        }
    }
}
