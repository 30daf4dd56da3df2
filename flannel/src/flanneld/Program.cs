using Microsoft.Extensions.Logging;
using Platform.Common.Flags;
using Platform.Common.Hosting;
using Platform.Common.Logging;
using Platform.Flannel.Daemon;

// flanneld: parse flannel's flags, acquire this host's subnet in etcd, write subnet.env, keep the
// lease renewed and follow peers until SIGTERM/SIGINT (the lease is kept for the next start).
var flags = new FlanneldFlags();
FlagParseResult parsed;
try
{
    parsed = flags.Set.Parse(args);
}
catch (FlagParseException e)
{
    // Go's flag package: the error, then usage, exit status 2.
    Console.Error.WriteLine(e.Message);
    Console.Error.Write(flags.Set.Usage());
    return 2;
}

if (parsed.HelpRequested)
{
    Console.Out.Write(flags.Set.Usage());
    return 0;
}

if (flags.Version.Value)
{
    Console.Out.WriteLine(FlanneldRunner.Version);
    return 0;
}

// glog's -v: any verbosity above 0 shows debug lines.
LogLevel level = flags.Verbosity.Value > 0 ? LogLevel.Debug : LogLevel.Information;
using ILoggerFactory loggerFactory = PlatformLogging.CreateFactory(level);
ILogger log = loggerFactory.CreateLogger("flanneld");
foreach (string warning in parsed.Warnings)
{
    log.LogWarning("{Warning}", warning);
}

// main.go: the margin must leave the 24 h lease some life.
if (flags.SubnetLeaseRenewMargin.Value is < 1 or > 1439)
{
    log.LogError("Invalid subnet-lease-renew-margin option, out of acceptable range");
    return 1;
}

if (flags.KubeSubnetMgr.Value)
{
    log.LogError("--kube-subnet-mgr is not supported by this flanneld yet; use etcd");
    return 1;
}

using var shutdown = new ShutdownSignal();
var runner = new FlanneldRunner(flags, loggerFactory, level);
return await runner.RunAsync(shutdown.Token);
