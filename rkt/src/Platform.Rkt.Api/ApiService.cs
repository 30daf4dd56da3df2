using System.Net;

namespace Platform.Rkt.Api;

/// <summary>What <c>rkt api-service</c> serves and where.</summary>
public sealed class ApiServiceOptions
{
    /// <summary>rkt's default <c>--listen</c>.</summary>
    public const string DefaultListen = "localhost:15441";

    /// <summary>rkt's <c>--dir</c>: pods under <c>pods/</c>, images under <c>cas/</c>.</summary>
    public string DataDir { get; init; } = "/var/lib/rkt";

    public string LocalConfigDir { get; init; } = "/etc/rkt";

    public string SystemConfigDir { get; init; } = "/usr/lib/rkt";

    public string UserConfigDir { get; init; } = string.Empty;

    /// <summary>The <c>--insecure-options</c> value, reported by GetInfo.</summary>
    public string InsecureFlags { get; init; } = "none";

    public bool TrustKeysFromHttps { get; init; }

    /// <summary>The listen endpoint (host:port; port 0 picks a free one).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 15441);

    /// <summary>How often ListenEvents and followed GetLogs look for changes.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Parses rkt's <c>--listen</c> form <c>host:port</c> (<c>localhost</c> is the loopback address).</summary>
    /// <exception cref="FormatException">Not host:port, or a host that is not an IP address or localhost.</exception>
    public static IPEndPoint ParseListen(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int colon = value.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(value[(colon + 1)..], out int port) || port is < 0 or > 65535)
        {
            throw new FormatException($"--listen=\"{value}\": expected host:port");
        }

        string host = value[..colon].Trim('[', ']');
        IPAddress address = host is "localhost" ? IPAddress.Loopback
            : host.Length == 0 ? IPAddress.Any
            : IPAddress.TryParse(host, out IPAddress? ip) ? ip
            : throw new FormatException($"--listen=\"{value}\": host must be an IP address or localhost");
        return new IPEndPoint(address, port);
    }
}

/// <summary>A running api-service.</summary>
public interface IApiService : IAsyncDisposable
{
    /// <summary>The bound port.</summary>
    public int Port { get; }

    /// <summary>Completes when the service has stopped.</summary>
    public Task Completion { get; }
}

/// <summary>Starts api-services.</summary>
public static class ApiServices
{
    /// <exception cref="IOException">The endpoint cannot be bound.</exception>
    public static Task<IApiService> StartAsync(ApiServiceOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ApiHost.StartAsync(options, ct);
    }
}
