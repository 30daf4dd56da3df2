using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Platform.Common.Hosting;
using Platform.Etcd.Client;
using Platform.Flannel.Backends;
using Platform.Flannel.Config;
using Platform.Flannel.IpMasq;
using Platform.Flannel.Subnets;

namespace Platform.Flannel.Daemon;

/// <summary>
/// flanneld's main sequence (flannel's <c>main.go</c>): interface, config (retried every second until
/// it exists), backend, lease (reusing this host's previous one), subnet.env, then the renew loop and
/// the peer watch side by side. Exit codes: 0 on a signal (the lease is kept), 1 on fatal errors or
/// when our lease is revoked in etcd.
/// </summary>
internal sealed class FlanneldRunner
{
    public const string Version = "v0.28.9-platform";

    // flannel retries fetching the config and failed renewals at these fixed intervals.
    private static readonly TimeSpan s_configRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_renewRetry = TimeSpan.FromMinutes(1);

    private readonly FlanneldFlags _flags;
    private readonly LogLevel _level;
    private readonly ILogger _log;
    private volatile bool _ready;

    public FlanneldRunner(FlanneldFlags flags, ILoggerFactory loggerFactory, LogLevel level)
    {
        _flags = flags;
        _level = level;
        _log = loggerFactory.CreateLogger("flanneld");
    }

    public async Task<int> RunAsync(CancellationToken stop)
    {
        ExternalInterface iface;
        try
        {
            iface = InterfaceSelector.Select(_flags.Iface.Value, _flags.IfaceRegex.Value, _flags.PublicIp.Value);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            _log.LogError("Failed to find any valid interface to use: {Error}", e.Message);
            return 1;
        }

        _log.LogInformation("Using interface with name {Interface} and address {Address}", iface.Name, iface.Address);
        _log.LogInformation("Using {PublicIP} as external address", iface.PublicIP);

        WebApplication? health = null;
        if (_flags.HealthzPort.Value != 0)
        {
            health = await StartHealthAsync(stop);
        }

        try
        {
            await using IEtcdClient client = EtcdClient.Create(EtcdOptions());
            ISubnetManager manager = SubnetManagers.CreateEtcd(client, new SubnetManagerOptions { Prefix = _flags.EtcdPrefix.Value });
            return await RunWithEtcdAsync(manager, iface, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            _log.LogInformation("Exiting cleanly...");
            return 0;
        }
        finally
        {
            if (health is not null)
            {
                await health.StopAsync(CancellationToken.None);
                await health.DisposeAsync();
            }
        }
    }

    private async Task<int> RunWithEtcdAsync(ISubnetManager manager, ExternalInterface iface, CancellationToken stop)
    {
        NetworkConfig config = await GetConfigAsync(manager, stop);
        _log.LogInformation("Found network config - Backend type: {BackendType}", config.BackendType);

        IBackend backend;
        try
        {
            backend = BackendRegistry.Create(config.BackendType, new BackendContext(iface) { Logger = _log });
        }
        catch (Exception e) when (e is NotSupportedException or BackendException)
        {
            _log.LogError("Error fetching backend: {Error}", e.Message);
            return 1;
        }

        await using (backend)
        {
            BackendRegistration registration;
            try
            {
                registration = await backend.RegisterNetworkAsync(config, stop);
            }
            catch (Exception e) when (e is BackendException or Platform.Linux.LinuxException)
            {
                _log.LogError("Error registering network: {Error}", e.Message);
                return 1;
            }

            var attrs = new LeaseAttrs { PublicIP = iface.PublicIP, BackendType = registration.BackendType, BackendData = registration.BackendData };
            Ip4Net? previous = SubnetFile.ReadSubnet(_flags.SubnetFilePath.Value);
            SubnetLease lease;
            try
            {
                lease = await manager.AcquireLeaseAsync(config, attrs, previous, stop);
            }
            catch (SubnetsExhaustedException e)
            {
                _log.LogError("Error registering network: failed to acquire lease: {Error}", e.Message);
                return 1;
            }

            _log.LogInformation("Acquired lease {Subnet} (expires {Expiration})", lease.Subnet.ToString(), lease.Expiration?.ToString("O") ?? "never: reservation");
            // --ip-masq / --iptables-forward-rules (TrafficRules.cs); removed when this scope ends.
            ITrafficManager? traffic;
            try
            {
                traffic = await TrafficRules.StartAsync(_flags, config.Network, lease.Subnet, _log, stop);
            }
            catch (IptablesException e)
            {
                _log.LogError("Failed to setup masq rules, {Error}", e.Message);
                return 1;
            }

            await using ITrafficManager? trafficScope = traffic;
            SubnetFile.Write(_flags.SubnetFilePath.Value, config.Network, lease.Subnet, registration.Mtu, _flags.IpMasq.Value);
            _log.LogInformation("Wrote subnet file to {Path}", _flags.SubnetFilePath.Value);
            _log.LogInformation("Running backend.");

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop);
            Task renew = RenewLoopAsync(manager, lease, linked.Token);
            Task<bool> watch = WatchLoopAsync(manager, backend, lease, linked.Token);
            Task first = await Task.WhenAny(renew, watch);
            bool revoked = first == watch && watch.IsCompletedSuccessfully && watch.Result;
            await linked.CancelAsync();
            await Task.WhenAll(renew, watch).ContinueWith(_ => { }, TaskScheduler.Default);
            if (revoked)
            {
                _log.LogError("Lease has been revoked. Shutting down daemon.");
                return 1;
            }

            stop.ThrowIfCancellationRequested();
            Exception? error = first.Exception?.GetBaseException();
            _log.LogError(error, "flanneld stopped unexpectedly");
            return 1;
        }
    }

    private async Task<NetworkConfig> GetConfigAsync(ISubnetManager manager, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                return await manager.GetNetworkConfigAsync(stop);
            }
            catch (Exception e) when (e is NetworkConfigNotFoundException or NetworkConfigException or EtcdClientException)
            {
                _log.LogError("Couldn't fetch network config: {Error}", e.Message);
            }

            await Task.Delay(s_configRetry, stop);
        }
    }

    private async Task RenewLoopAsync(ISubnetManager manager, SubnetLease lease, CancellationToken stop)
    {
        TimeSpan margin = TimeSpan.FromMinutes(_flags.SubnetLeaseRenewMargin.Value);
        while (lease.Expiration is DateTimeOffset expiration)
        {
            TimeSpan due = expiration - margin - TimeProvider.System.GetUtcNow();
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, TimeProvider.System, stop);
            }

            try
            {
                lease = await manager.RenewLeaseAsync(lease, stop);
                _log.LogInformation("Lease renewed, new expiration: {Expiration}", lease.Expiration?.ToString("O"));
            }
            catch (EtcdClientException e)
            {
                _log.LogError("Error renewing lease (trying again in 1 min): {Error}", e.Message);
                await Task.Delay(s_renewRetry, stop);
            }
        }

        // A reservation never expires: nothing to renew.
        await Task.Delay(Timeout.Infinite, stop);
    }

    /// <summary>Feeds peer leases to the backend; returns true when our own lease disappears.</summary>
    private async Task<bool> WatchLoopAsync(ISubnetManager manager, IBackend backend, SubnetLease own, CancellationToken stop)
    {
        await foreach (LeaseBatch batch in manager.WatchLeasesAsync(stop))
        {
            bool ownGone = batch.IsSnapshot
                ? !batch.Events.Any(e => e.Lease.Subnet == own.Subnet)
                : batch.Events.Any(e => e.Type == LeaseEventType.Removed && e.Lease.Subnet == own.Subnet);
            foreach (LeaseEvent e in batch.Events.Where(e => e.Lease.Subnet != own.Subnet))
            {
                _log.LogInformation("Subnet {Change}: {Subnet} (PublicIP {PublicIP})", e.Type == LeaseEventType.Added ? "added" : "removed", e.Lease.Subnet.ToString(), e.Lease.Attrs.PublicIP);
            }

            await backend.HandleLeasesAsync(batch, own, stop);

            // Ready once subnet.env is written (before the watch starts) AND the first snapshot's routes are in place.
            if (!_ready)
            {
                _ready = true;
                _log.LogInformation("Routes to {Count} peers programmed; ready", batch.Events.Count(e => e.Lease.Subnet != own.Subnet));
            }
            if (ownGone)
            {
                return true;
            }
        }

        return false;
    }

    private EtcdClientOptions EtcdOptions()
    {
        // flannel uses TLS only when both the key and the certificate are given.
        bool tls = _flags.EtcdKeyFile.Value.Length > 0 && _flags.EtcdCertFile.Value.Length > 0;
        return new EtcdClientOptions
        {
            Endpoints = [.. _flags.EtcdEndpoints.Value],
            Username = _flags.EtcdUsername.Value.Length > 0 ? _flags.EtcdUsername.Value : null,
            Password = _flags.EtcdPassword.Value.Length > 0 ? _flags.EtcdPassword.Value : null,
            KeyFile = tls ? _flags.EtcdKeyFile.Value : null,
            CertFile = tls ? _flags.EtcdCertFile.Value : null,
            CaFile = tls && _flags.EtcdCaFile.Value.Length > 0 ? _flags.EtcdCaFile.Value : null,
        };
    }

    private async Task<WebApplication> StartHealthAsync(CancellationToken stop)
    {
        string host = _flags.HealthzIp.Value.Contains(':', StringComparison.Ordinal) ? $"[{_flags.HealthzIp.Value}]" : _flags.HealthzIp.Value;
        string url = $"http://{host}:{_flags.HealthzPort.Value}";
        WebApplicationBuilder builder = DaemonHost.CreateBuilder(new DaemonOptions { Name = "flanneld", Urls = [url], LogLevel = _level });
        WebApplication app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("flanneld is running\n"));
        app.MapGet("/readyz", () => _ready ? Results.Text("ok\n") : Results.Text("subnet.env not written or routes not programmed yet\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapPlatformHealth();
        app.MapPlatformMetrics();
        await app.StartAsync(stop);
        _log.LogInformation("Start healthz server on {Url}", url);
        return app;
    }
}
