namespace Platform.Raft.Simulation;

/// <summary>A safety or liveness property failed. The message names the seed that replays it.</summary>
public sealed class SimulationFailureException : Exception
{
    public SimulationFailureException()
    {
    }

    public SimulationFailureException(string message)
        : base(message)
    {
    }

    public SimulationFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
