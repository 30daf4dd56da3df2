using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Platform.Common.Logging;
using Prometheus;

namespace Platform.Common.Hosting;

/// <summary>
/// The host conventions every Platform daemon follows: JSON-line logs on stderr, Kestrel on the
/// given URLs, graceful shutdown on SIGTERM/SIGINT with a bounded drain, <c>/health</c> and
/// Prometheus <c>/metrics</c>.
/// </summary>
public static class DaemonHost
{
    /// <summary>Creates a web application builder configured by <paramref name="options"/>.</summary>
    public static WebApplicationBuilder CreateBuilder(DaemonOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ApplicationName = options.Name,
        });
        builder.Logging.AddPlatformJson(options.LogLevel);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddHealthChecks();
        // No listener asked for: an ephemeral loopback port rather than Kestrel's default :5000.
        builder.WebHost.UseUrls(options.Urls.Count == 0 ? ["http://127.0.0.1:0"] : [.. options.Urls]);

        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c>: 200 with <c>{"health":"true","reason":""}</c> when every registered health
    /// check passes, 503 with <c>"health":"false"</c> and the failing reasons otherwise (etcd's shape).
    /// </summary>
    public static IEndpointConventionBuilder MapPlatformHealth(this IEndpointRouteBuilder endpoints, string path = "/health")
    {
        return endpoints.MapHealthChecks(path, new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteHealthAsync,
        });
    }

    /// <summary>Maps Prometheus text exposition of the default registry at <c>/metrics</c>.</summary>
    public static IEndpointConventionBuilder MapPlatformMetrics(this IEndpointRouteBuilder endpoints, string path = "/metrics") =>
        endpoints.MapMetrics(path);

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        string reason = string.Join(
            "; ",
            report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy).Select(e => $"{e.Key}: {e.Value.Description ?? "unhealthy"}"));
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["health"] = report.Status == HealthStatus.Unhealthy ? "false" : "true",
            ["reason"] = reason,
        }));
    }
}
