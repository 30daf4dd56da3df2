using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.Common.Hosting;
using Platform.Testing;

namespace Platform.Common.Tests;

public class DaemonHostTests
{
    [Fact]
    public async Task MapPlatformHealth_HealthyAndUnhealthy_AnswerLikeEtcd()
    {
        int port = FreePorts.Next();
        bool healthy = true;
        WebApplicationBuilder builder = DaemonHost.CreateBuilder(new DaemonOptions { Name = "testd", Urls = [$"http://127.0.0.1:{port}"] });
        builder.Services.AddHealthChecks().AddCheck("raft", () => healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("no leader"));
        await using WebApplication app = builder.Build();
        app.MapPlatformHealth();
        app.MapPlatformMetrics();
        Prometheus.Metrics.CreateCounter("platform_test_requests_total", "requests seen by the test").Inc(3);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        HttpResponseMessage ok = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("{\"health\":\"true\",\"reason\":\"\"}", await ok.Content.ReadAsStringAsync());

        healthy = false;
        HttpResponseMessage bad = await http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, bad.StatusCode);
        Assert.Equal("{\"health\":\"false\",\"reason\":\"raft: no leader\"}", await bad.Content.ReadAsStringAsync());

        string metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("platform_test_requests_total 3", metrics, StringComparison.Ordinal);

        await app.StopAsync();
    }
}
