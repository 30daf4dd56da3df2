using System.Globalization;
using System.Runtime.InteropServices;
using Platform.Linux.Namespaces;
using Platform.Linux.Processes;

namespace Platform.Rkt.Stage1.Default;

/// <summary>
/// The default stage1, stage0's side: spawns <see cref="PodInit"/> as PID 1 of fresh mount, UTS, IPC and
/// PID namespaces, in the pod's network namespace (<c>$pod/netns</c>, prepared by stage0) or the host's,
/// moves it into the pod cgroup, says "go", forwards SIGINT/SIGTERM/SIGHUP and waits for it.
/// </summary>
internal sealed class DefaultFlavor : IStage1Flavor
{
    public string Name => Stage1Flavors.DefaultName;

    public int Run(Stage1RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        string pod = request.PodDirectory;
        (int lifelineRead, int lifelineWrite) = ProcessSpawner.CreatePipe();
        try
        {
            ProcessSpawner.SetInheritable(lifelineRead, true);
            ProcessSpawner.SetInheritable(request.LockFd, true);
            var environment = new List<string>
            {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                $"RKT_LOCK_FD={request.LockFd.ToString(CultureInfo.InvariantCulture)}",
                $"RKT_LIFELINE_FD={lifelineRead.ToString(CultureInfo.InvariantCulture)}",
            };
            foreach (string name in (string[])["DOTNET_ROOT", "HOME", "DOTNET_TieredPGO", "DOTNET_TC_QuickJitForLoops", "DOTNET_TieredCompilation", "DOTNET_ReadyToRun"])
            {
                if (Environment.GetEnvironmentVariable(name) is { } value)
                {
                    environment.Add($"{name}={value}");
                }
            }

            var spawn = new SpawnRequest
            {
                Path = request.Stage1Command[0],
                Arguments = [.. request.Stage1Command, pod],
                Environment = environment,
            };
            NamespaceKinds kinds = NamespaceKinds.Mount | NamespaceKinds.Uts | NamespaceKinds.Ipc | NamespaceKinds.Pid;
            string? joinNet = null;
            switch (request.Plan.Network)
            {
                case "host":
                    break;
                case "netns":
                    joinNet = PodLayout.Netns(pod);
                    kinds |= NamespaceKinds.Net;
                    break;
                default:
                    kinds |= NamespaceKinds.Net;
                    break;
            }

            int pid = NamespaceLauncher.SpawnInNewNamespaces(spawn, kinds, joinNet);
            ProcessSpawner.Close(lifelineRead);
            lifelineRead = -1;
            request.Started?.Invoke(pid);
            using var forwarding = new SignalForwarding(pid);
            try
            {
                request.PodCgroup?.AddProcess(pid);
                ProcessSpawner.Write(lifelineWrite, "g"u8);
            }
            catch (Exception e) when (e is IOException or Platform.Linux.LinuxException)
            {
                Console.Error.WriteLine($"run: cannot start pod: {e.Message}");
                _ = ProcessSpawner.Signal(pid, 9);
            }

            ExitStatus status = ProcessSpawner.Wait(pid);
            return status.Signal != 0 ? 128 + status.Signal : status.Code;
        }
        finally
        {
            ProcessSpawner.Close(lifelineRead);
            ProcessSpawner.Close(lifelineWrite);
        }
    }

    /// <summary>stage0's termination signals go to stage1 (which forwards them to the apps).</summary>
    private sealed class SignalForwarding : IDisposable
    {
        private readonly PosixSignalRegistration[] _registrations;

        public SignalForwarding(int pid)
        {
            void Forward(PosixSignalContext context)
            {
                context.Cancel = true;
                _ = ProcessSpawner.Signal(pid, context.Signal switch
                {
                    PosixSignal.SIGINT => 2,
                    PosixSignal.SIGHUP => 1,
                    _ => 15,
                });
            }

            _registrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward),
                PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, Forward),
            ];
        }

        public void Dispose()
        {
            foreach (PosixSignalRegistration r in _registrations)
            {
                r.Dispose();
            }
        }
    }
}
