using System.Net;

namespace Platform.Kola.Platforms;

/// <summary>One machine of a cluster (kola's Machine).</summary>
public interface IMachine
{
    /// <summary>Unique within the flight; names the machine's output directory.</summary>
    public string Id { get; }

    /// <summary>The address other machines reach it at.</summary>
    public IPAddress PrivateIP { get; }

    /// <summary>The address the harness reaches it at (equal to <see cref="PrivateIP"/> on local platforms).</summary>
    public IPAddress PublicIP { get; }

    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c> on the machine and returns its exit code and output.</summary>
    public ValueTask<CommandResult> RunAsync(string command, CancellationToken cancellationToken);

    /// <summary>What the machine printed while booting (kola's console.txt).</summary>
    public string ConsoleOutput();

    /// <summary>The logs of the machine's services (kola's journal.txt).</summary>
    public string JournalOutput();

    /// <summary>Stops every process of the machine at once (SIGKILL, a power cut); its disks stay.</summary>
    public ValueTask KillAsync(CancellationToken cancellationToken);

    /// <summary>Boots a killed or running machine again with the same disks and address.</summary>
    public ValueTask RestartAsync(CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IMachine.RunAsync"/>.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Whether the command exited with 0.</summary>
    public bool Succeeded => ExitCode == 0;
}
