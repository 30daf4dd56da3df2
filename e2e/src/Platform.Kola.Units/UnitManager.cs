namespace Platform.Kola.Units;

/// <summary>Creates unit managers.</summary>
public static class UnitManager
{
    /// <summary>
    /// Creates a manager. The caller (PID 1) must call <see cref="IUnitManager.RunReaper"/> on a dedicated
    /// thread (it blocks, reaping every child of the process, orphans included, until the manager is disposed).
    /// </summary>
    public static IUnitManager Create(UnitManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return OperatingSystem.IsLinux() ? new Manager(options) : throw new PlatformNotSupportedException("the unit manager needs Linux");
    }
}
