using System.Net.Sockets;
using Platform.Linux.Processes;

namespace Platform.Kola.Units;

/// <summary>The runtime side of one unit: states systemd reports, processes, the job gate.</summary>
internal sealed class UnitState
{
    public UnitState(UnitDefinition definition)
    {
        Definition = definition;
    }

    public string Name => Definition.Name;

    public UnitDefinition Definition { get; set; }

    public string ActiveState { get; set; } = "inactive";

    public string SubState { get; set; } = "dead";

    public string? Result { get; set; }

    public int? MainPid { get; set; }

    public int? ControlPid { get; set; }

    /// <summary>Process groups (= pids, every process gets its own session) spawned for this unit and maybe still alive.</summary>
    public HashSet<int> Groups { get; } = [];

    public int RestartCount { get; set; }

    /// <summary>One job at a time per unit: start, stop and the reaction to a main process exit.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Cancelled by a stop request to abort an activation in flight or a pending auto-restart.</summary>
    public CancellationTokenSource? Pending { get; set; }

    public List<DateTime> StartTimes { get; } = [];

    public DateTime? ActiveEnter { get; set; }

    public DateTime? InactiveEnter { get; set; }

    public ExitStatus? ExecMainStatus { get; set; }

    public int? ExecMainPid { get; set; }

    public string? StatusText { get; set; }

    public Socket? NotifySocket { get; set; }

    /// <summary>The warnings of the current definition were written to the journal.</summary>
    public bool WarningsLogged { get; set; }

    public bool IsActiveOrActivating => ActiveState is "active" or "activating" or "reloading";

    public UnitStatus ToStatus() => new(Name, Definition.LoadState, ActiveState, SubState, MainPid, Result);
}
