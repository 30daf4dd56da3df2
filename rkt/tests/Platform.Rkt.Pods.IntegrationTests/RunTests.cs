using Platform.Testing;

namespace Platform.Rkt.Pods.IntegrationTests;

/// <summary>rkt run of busybox pods with the default stage1: isolation, flags, exit statuses.</summary>
public sealed class RunTests
{
    private const string Why = "runs pods in new namespaces, mounts and cgroups";

    [RootFact(Why)]
    public void Run_True_ExitsZeroAndRecordsAppStatus()
    {
        using var host = new PodTestHost(nameof(Run_True_ExitsZeroAndRecordsAppStatus));
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt("run", "--net=none", $"--uuid-file-save={uuidFile}", host.Aci, "--exec=/bin/true");
        Assert.True(result.ExitCode == 0, result.Stderr);
        string status = host.RktOk("status", File.ReadAllText(uuidFile));
        Assert.Contains("state=exited", status, StringComparison.Ordinal);
        Assert.Contains("exited=true", status, StringComparison.Ordinal);
        Assert.Contains("app-busybox=0", status, StringComparison.Ordinal);
    }

    [RootFact(Why)]
    public void Run_FailingApp_PropagatesExitStatus()
    {
        using var host = new PodTestHost(nameof(Run_FailingApp_PropagatesExitStatus));
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt("run", "--net=none", $"--uuid-file-save={uuidFile}", host.Aci, "--exec=/bin/false");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("app-busybox=1", host.RktOk("status", File.ReadAllText(uuidFile)), StringComparison.Ordinal);
    }

    [RootFact(Why)]
    public void Run_ImageDefaultExec_OutputReachesStdoutAndLogs()
    {
        using var host = new PodTestHost(nameof(Run_ImageDefaultExec_OutputReachesStdoutAndLogs));
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt("run", "--net=none", $"--uuid-file-save={uuidFile}", host.Aci);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("hello from busybox\n", result.Stdout);
        string uuid = File.ReadAllText(uuidFile);
        Assert.Equal("hello from busybox\n", host.RktOk("logs", uuid));
        Assert.Equal("hello from busybox\n", host.RktOk("logs", "--tail=1", "--app=busybox", uuid[..8]));
    }

    [RootFact(Why)]
    public void Run_TwoApps_FailureStopsTheOtherAndSetsPodStatus()
    {
        using var host = new PodTestHost(nameof(Run_TwoApps_FailureStopsTheOtherAndSetsPodStatus));
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt(
            "run", "--net=none", $"--uuid-file-save={uuidFile}",
            host.Aci, "--name=sleeper", "--exec=/bin/sleep", "--", "600", "---",
            host.Aci, "--name=failer", "--exec=/bin/sh", "--", "-c", "echo failing; exit 7");
        Assert.Equal(7, result.ExitCode);
        Assert.Contains("failing", result.Stdout, StringComparison.Ordinal);
        string status = host.RktOk("status", File.ReadAllText(uuidFile));
        Assert.Contains("app-failer=7", status, StringComparison.Ordinal);
        Assert.Contains("app-sleeper=143", status, StringComparison.Ordinal); // SIGTERM from stage1
    }

    [RootFact(Why)]
    public void Run_Isolation_PidUtsMountAndNetworkNamespaces()
    {
        using var host = new PodTestHost(nameof(Run_Isolation_PidUtsMountAndNetworkNamespaces));
        string script = "echo pid=$$; ps -o pid,comm | tail -n +2 | wc -l; hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1; "
                        + $"ls {host.DataDir} >/dev/null 2>&1 && echo host-visible || echo host-hidden; cat /proc/self/status | grep -c Name";
        var result = host.Rkt("run", "--net=none", "--hostname=podhost", host.Aci, "--exec=/bin/sh", "--", "-c", script);
        Assert.True(result.ExitCode == 0, result.Stderr);
        string[] lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int pid = int.Parse(lines[0]["pid=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(pid, 2, 100); // a low pid: the pod's own PID namespace, stage1 is 1
        Assert.InRange(int.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture), 3, 6); // stage1, sh, ps, tail, wc: nothing of the host
        Assert.Equal("podhost", lines[2]);
        Assert.Equal("lo", lines[3]); // --net=none: loopback only
        Assert.Equal("host-hidden", lines[4]);
        Assert.Equal("1", lines[5]); // /proc works
    }

    [RootFact(Why)]
    public void Run_EnvironmentUserGroupAndWorkingDirectory_Applied()
    {
        using var host = new PodTestHost(nameof(Run_EnvironmentUserGroupAndWorkingDirectory_Applied));
        var result = host.Rkt(
            "run", "--net=none", "--set-env=POD_VAR=from-flag", "--set-env", "LIST=a,b=c, d",
            host.Aci, "--user=nobody", "--group=1000", "--working-dir=/etc", "--exec=/bin/sh", "--", "-c",
            "echo $POD_VAR $IMAGE_VAR $AC_APP_NAME $container; id -u; id -g; pwd; echo \"[$LIST]\"");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("from-flag from-image busybox rkt\n65534\n1000\n/etc\n[a,b=c, d]\n", result.Stdout); // a --set-env value is taken whole, as rkt's envMap
    }

    [RootFact(Why)]
    public void Run_CapsRemove_DropsCapabilityFromBoundingSet()
    {
        using var host = new PodTestHost(nameof(Run_CapsRemove_DropsCapabilityFromBoundingSet));
        const string script = "grep CapBnd /proc/self/status; ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 && echo ping-ok || echo ping-failed";
        var removed = host.Rkt("run", "--net=none", host.Aci, "--caps-remove=CAP_NET_RAW", "--exec=/bin/sh", "--", "-c", script);
        var kept = host.Rkt("run", "--net=none", host.Aci, "--exec=/bin/sh", "--", "-c", script);
        ulong Bounding(string output) => Convert.ToUInt64(output.Split('\n')[0].Split('\t')[1].Trim(), 16);
        const ulong netRaw = 1UL << 13, sysAdmin = 1UL << 21;
        Assert.Equal(0UL, Bounding(removed.Stdout) & netRaw);
        Assert.NotEqual(0UL, Bounding(kept.Stdout) & netRaw);
        Assert.Equal(0UL, Bounding(kept.Stdout) & sysAdmin); // never in the default set
        Assert.Contains("ping-failed", removed.Stdout, StringComparison.Ordinal);
        Assert.Contains("ping-ok", kept.Stdout, StringComparison.Ordinal);
    }

    [RootFact(Why)]
    public void Run_Volumes_HostReadWriteHostReadOnlyAndEmptySharedByApps()
    {
        using var host = new PodTestHost(nameof(Run_Volumes_HostReadWriteHostReadOnlyAndEmptySharedByApps));
        string rw = host.Combine("rw");
        string ro = host.Combine("ro");
        Directory.CreateDirectory(rw);
        Directory.CreateDirectory(ro);
        File.WriteAllText(Path.Combine(ro, "input"), "from-host");
        var result = host.Rkt(
            "run", "--net=none",
            $"--volume=rw,kind=host,source={rw}", $"--volume=ro,kind=host,source={ro},readOnly=true", "--volume=data,kind=empty",
            host.Aci, "--name=writer", "--mount=volume=rw,target=/rw", "--mount=volume=ro,target=/ro", "--exec=/bin/sh", "--", "-c",
            "echo written > /rw/out; cat /ro/input; echo; touch /ro/denied 2>/dev/null && echo ro-writable || echo ro-denied; echo shared > /data/file",
            "---",
            host.Aci, "--name=reader", "--exec=/bin/sh", "--", "-c", "ls /data >/dev/null && echo data-mounted");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("from-host", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("ro-denied", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("data-mounted", result.Stdout, StringComparison.Ordinal); // image mount point "data" filled by the empty volume
        Assert.Equal("written\n", File.ReadAllText(Path.Combine(rw, "out")));
        Assert.False(File.Exists(Path.Combine(ro, "denied")));
    }

    [RootFact(Why)]
    public void Run_Memory_LimitInCgroupAndOomKillReported()
    {
        using var host = new PodTestHost(nameof(Run_Memory_LimitInCgroupAndOomKillReported));
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt(
            "run", "--net=none", $"--uuid-file-save={uuidFile}",
            host.Aci, "--memory=32Mi", "--exec=/bin/sh", "--", "-c", "head -c 200000000 /dev/zero | tail -c 100000000 > /dev/null");
        Assert.Equal(137, result.ExitCode); // tail was OOM-killed (SIGKILL)
        string pod = host.PodDir(File.ReadAllText(uuidFile));
        string memoryCgroup = File.ReadAllLines(Path.Combine(pod, "cgroups")).Select(l => l.Split(' ')).First(p => p[1].Split(',').Contains("memory"))[3];
        Assert.Equal("33554432", File.ReadAllText(Path.Combine(memoryCgroup, "busybox", "memory.limit_in_bytes")).Trim());
        Assert.Contains("app-busybox=137", host.RktOk("status", File.ReadAllText(uuidFile)), StringComparison.Ordinal);
    }

    [RootFact(Why)]
    public void Run_ReadOnlyRootfs_WritesFail()
    {
        using var host = new PodTestHost(nameof(Run_ReadOnlyRootfs_WritesFail));
        var result = host.Rkt("run", "--net=none", host.Aci, "--readonly-rootfs", "--exec=/bin/sh", "--", "-c", "touch /newfile 2>/dev/null && echo writable || echo read-only; touch /dev/shm/x && echo shm-ok");
        Assert.Equal("read-only\nshm-ok\n", result.Stdout);
    }

    [RootFact(Why)]
    public void Run_Fly_RunsOneAppInAChroot()
    {
        using var host = new PodTestHost(nameof(Run_Fly_RunsOneAppInAChroot));
        string uuidFile = host.Combine("uuid");
        var result = host.Rkt("run", "--stage1-name=fly", $"--uuid-file-save={uuidFile}", host.Aci, "--exec=/bin/sh", "--", "-c", "ls /bin/busybox; echo $AC_APP_NAME; exit 4");
        Assert.Equal(4, result.ExitCode);
        Assert.Equal("/bin/busybox\nbusybox\n", result.Stdout);
        string uuid = File.ReadAllText(uuidFile);
        Assert.Contains("state=exited", host.RktOk("status", uuid), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(host.PodDir(uuid), "cgroups"))); // no limits: fly makes no cgroup
        var logs = host.Rkt("logs", uuid); // fly's output went to rkt run's stdout: logs says so instead of printing nothing
        Assert.NotEqual(0, logs.ExitCode);
        Assert.Contains("fly stage1, which does not capture", logs.Stderr, StringComparison.Ordinal);

        string limitedFile = host.Combine("uuid-limited");
        var limited = host.Rkt("run", "--stage1-name=fly", $"--uuid-file-save={limitedFile}", host.Aci, "--memory=32Mi", "--exec=/bin/sh", "--", "-c", "cat /proc/self/cgroup");
        Assert.True(limited.ExitCode == 0, limited.Stderr);
        string limitedUuid = File.ReadAllText(limitedFile);
        Assert.Contains("rkt-" + limitedUuid, limited.Stdout, StringComparison.Ordinal); // with a limit the app runs in the pod cgroup
        string memory = File.ReadAllLines(Path.Combine(host.PodDir(limitedUuid), "cgroups")).Select(l => l.Split(' ')).First(f => f[1].Split(',').Contains("memory"))[3];
        Assert.Equal("33554432", File.ReadAllText(Path.Combine(memory, "memory.limit_in_bytes")).Trim());

        host.RktOk("gc", "--grace-period=0s");
        Assert.Empty(Platform.Linux.Namespaces.Mounts.MountPointsUnder(host.DataDir));
        Assert.False(Directory.Exists(memory));
    }
}
