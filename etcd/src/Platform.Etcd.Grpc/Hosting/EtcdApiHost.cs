using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Common.Logging;
using Platform.Etcd.Grpc.Gateway;
using Platform.Etcd.Grpc.Http;
using Platform.Etcd.Grpc.Services;
using Platform.Etcd.Server;

namespace Platform.Etcd.Grpc.Hosting;

/// <summary>
/// One Kestrel server for every client and metrics URL of a member. Client URLs serve the six gRPC
/// services, the JSON gateway, /version, /health, /metrics and (with v2 on) the v2 API; metrics
/// URLs serve /metrics and /health only.
/// </summary>
internal sealed class EtcdApiHost : IEtcdApiHost
{
    private readonly IEtcdServer _server;
    private readonly EtcdApiOptions _options;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly List<(ListenOptions Listen, Uri Url)> _clientListeners = [];
    private readonly List<(ListenOptions Listen, Uri Url)> _metricsListeners = [];
    private WebApplication? _app;
    private volatile HashSet<int> _metricsPorts = [];

    public EtcdApiHost(IEtcdServer server, EtcdApiOptions options, ILoggerFactory? loggerFactory)
    {
        _server = server;
        _options = options;
        _loggerFactory = loggerFactory;
        foreach (Uri url in options.ListenClientUrls)
        {
            if (url.Scheme == "https" && options.ClientTls is null)
            {
                throw new ArgumentException($"listen client URL {url} is https but no --cert-file/--key-file were given", nameof(options));
            }
        }
    }

    public IReadOnlyList<Uri> ClientUrls => Bound(_clientListeners);

    public IReadOnlyList<Uri> MetricsUrls => Bound(_metricsListeners);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("already started");
        }

        WebApplication app = Build();
        _app = app;
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _metricsPorts = [.. _metricsListeners.Select(l => ((IPEndPoint)l.Listen.EndPoint).Port)];
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
    }

    private static List<Uri> Bound(List<(ListenOptions Listen, Uri Url)> listeners) =>
        [.. listeners.Select(l => new UriBuilder(l.Url) { Port = ((IPEndPoint)l.Listen.EndPoint).Port }.Uri)];

    private WebApplication Build()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "etcd" });
        builder.Logging.AddPlatformJson(_options.LogLevel);
        // Kestrel warns that HTTP/2 needs TLS on plain endpoints; H2cPriorKnowledge makes it work.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);
        // As the executable's logger factory: no per-request lines, so no per-request Activity either.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        if (_loggerFactory is not null)
        {
            builder.Services.AddSingleton(_loggerFactory);
        }

        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = _options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(ConfigureKestrel);
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, _options.MaxRequestBytes + RequestChecks.GrpcOverheadBytes);
            o.MaxSendMessageSize = null;
            o.EnableDetailedErrors = false;
        });
        builder.Services.AddRouting();
        // etcd registers grpc.health.v1 and sets "" (every service) to SERVING.
        var health = new global::Grpc.HealthCheck.HealthServiceImpl();
        health.SetStatus("", global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        builder.Services.AddSingleton(_server);
        builder.Services.AddSingleton(new RequestChecks(_options.MaxRequestBytes, _options.MaxTxnOps));
        builder.Services.AddSingleton<KvService>();
        builder.Services.AddSingleton<WatchService>();
        builder.Services.AddSingleton<LeaseService>();
        builder.Services.AddSingleton<ClusterService>();
        builder.Services.AddSingleton<MaintenanceService>();
        builder.Services.AddSingleton<AuthService>();
        builder.Services.AddSingleton<LockService>();
        builder.Services.AddSingleton<ElectionService>();

        WebApplication app = builder.Build();
        app.Use(CorsAndMetricsPortsAsync);
        app.UseRouting();
        app.MapGrpcService<KvService>();
        app.MapGrpcService<WatchService>();
        app.MapGrpcService<LeaseService>();
        app.MapGrpcService<ClusterService>();
        app.MapGrpcService<MaintenanceService>();
        app.MapGrpcService<AuthService>();
        app.MapGrpcService<LockService>();
        app.MapGrpcService<ElectionService>();
        app.MapGrpcService<global::Grpc.HealthCheck.HealthServiceImpl>();
        app.MapEtcdGateway();
        app.MapEtcdInfo(_server);
        if (_options.EnableV2)
        {
            app.MapEtcdV2Keys(_server);
            app.MapEtcdV2Cluster(_server, DateTimeOffset.UtcNow);
        }

        // Go's http.NotFound for everything else.
        app.MapFallback(context => HttpResponses.ErrorAsync(context, StatusCodes.Status404NotFound, "404 page not found"));
        return app;
    }

    private static TimeSpan KeepAliveSetting(TimeSpan value) =>
        value <= TimeSpan.Zero ? TimeSpan.MaxValue : value < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : value;

    private void ConfigureKestrel(KestrelServerOptions kestrel)
    {
        kestrel.AddServerHeader = false;
        kestrel.AllowAlternateSchemes = true;
        // etcd allows unlimited concurrent streams per connection by default (--max-concurrent-streams);
        // clientv3 multiplexes every call of a client on one connection.
        kestrel.Limits.Http2.MaxStreamsPerConnection = (int)Math.Clamp(_options.MaxConcurrentStreams, 1, int.MaxValue);
        // --grpc-keepalive-interval / -timeout (Kestrel takes at least a second; zero disables, as in etcd).
        kestrel.Limits.Http2.KeepAlivePingDelay = KeepAliveSetting(_options.KeepAliveInterval);
        kestrel.Limits.Http2.KeepAlivePingTimeout = KeepAliveSetting(_options.KeepAliveTimeout);
        kestrel.Limits.Http2.InitialConnectionWindowSize = 4 * 1024 * 1024;
        kestrel.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;
        // gRPC calls lift this limit per call (their messages are capped instead); it bounds what
        // the gateway and v2 read: the largest gRPC message as JSON (base64 is 4/3 of it), at least 30 MB.
        kestrel.Limits.MaxRequestBodySize = Math.Max(30_000_000, 2 * (_options.MaxRequestBytes + RequestChecks.GrpcOverheadBytes));
        _clientListeners.Clear();
        _metricsListeners.Clear();
        foreach (Uri url in _options.ListenClientUrls)
        {
            Listen(kestrel, url, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (url.Scheme == "https")
                {
                    listen.UseHttps(HttpsOptions(_options.ClientTls!));
                }
                else
                {
                    listen.Use(H2cPriorKnowledge.Middleware);
                }

                _clientListeners.Add((listen, url));
            });
        }

        foreach (Uri url in _options.ListenMetricsUrls)
        {
            Listen(kestrel, url, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (url.Scheme == "https" && _options.ClientTls is not null)
                {
                    listen.UseHttps(HttpsOptions(_options.ClientTls));
                }

                _metricsListeners.Add((listen, url));
            });
        }
    }

    private static void Listen(KestrelServerOptions kestrel, Uri url, Action<ListenOptions> configure)
    {
        if (url.Host == "localhost")
        {
            // etcd resolves localhost to 127.0.0.1 (one socket; Kestrel's ListenLocalhost would bind ::1 as well).
            kestrel.Listen(IPAddress.Loopback, url.Port, configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(url.Host.Trim('[', ']')), url.Port, configure);
        }
    }

    private static HttpsConnectionAdapterOptions HttpsOptions(EtcdTlsOptions tls)
    {
        X509Certificate2 certificate = X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
        var options = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ClientCertificateMode = tls.ClientCertAuth ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
        };
        if (tls.ClientCertAuth && tls.TrustedCaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tls.TrustedCaFile);
            options.ClientCertificateValidation = (client, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(client);
            };
        }

        return options;
    }

    // An empty list or "*" allows everything (etcd's AccessController).
    private static bool Allows(IReadOnlyList<string> list, string value) => list.Count == 0 || list.Contains("*") || list.Contains(value);

    // etcd's answer to a plain-HTTP request naming a host outside --host-whitelist.
    private static string HostNotAllowed(string host) =>
        "\netcd received your request, but the Host header was unrecognized.\n\n" +
        "To fix this, choose one of the following options:\n" +
        "- Enable TLS, then any HTTPS request will be allowed.\n" +
        "- Add the hostname you want to use to the whitelist in settings.\n" +
        $"  - e.g. etcd --host-whitelist \"{host}\"\n\n" +
        "This requirement has been added to help prevent \"DNS Rebinding\" attacks (CVE-2018-5702).\n";

    // etcd's accessController: plain-HTTP requests only for whitelisted hosts, CORS headers for
    // allowed origins, OPTIONS answered with 200; metrics listeners serve /metrics and /health only.
    // Takes the RequestDelegate (the Func<Task> overload of Use allocates a closure per request) and
    // hands a gRPC call on without an async state machine of its own.
    private Task CorsAndMetricsPortsAsync(HttpContext context, RequestDelegate next)
    {
        return context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true
            && (_metricsPorts.Count == 0 || !_metricsPorts.Contains(context.Connection.LocalPort))
            ? next(context)
            : CorsAndMetricsPortsSlowAsync(context, next);
    }

    private async Task CorsAndMetricsPortsSlowAsync(HttpContext context, RequestDelegate next)
    {
        if (_metricsPorts.Contains(context.Connection.LocalPort))
        {
            // etcd's metrics listener has its own mux, without the access controller.
            if (context.Request.Path != "/metrics" && context.Request.Path != "/health")
            {
                await HttpResponses.ErrorAsync(context, StatusCodes.Status404NotFound, "404 page not found").ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
            return;
        }

        bool grpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        if (!grpc)
        {
            string host = context.Request.Host.Host.Trim('[', ']');
            if (!context.Request.IsHttps && !Allows(_options.HostWhitelist, host))
            {
                await HttpResponses.ErrorAsync(context, StatusCodes.Status421MisdirectedRequest, HostNotAllowed(host)).ConfigureAwait(false);
                return;
            }

            string? origin = Allows(_options.CorsOrigins, "*") ? "*"
                : context.Request.Headers.Origin is { Count: 1 } o && Allows(_options.CorsOrigins, o[0]!) ? o[0] : null;
            if (origin is not null)
            {
                context.Response.Headers.AccessControlAllowOrigin = origin;
                context.Response.Headers.AccessControlAllowMethods = "POST, GET, OPTIONS, PUT, DELETE";
                context.Response.Headers.AccessControlAllowHeaders = "accept, content-type, authorization";
            }

            if (HttpMethods.IsOptions(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }
}
