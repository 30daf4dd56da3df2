using Xunit;

namespace Platform.Testing;

/// <summary>
/// A fact that needs root (namespaces, mounts, netlink). Without root it is reported as skipped with
/// the reason, never as passed. CI runs as root, so there these tests always run.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    /// <param name="why">What the test needs root for, e.g. "creates network namespaces".</param>
    public RootFactAttribute(string why)
    {
        Why = why;
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = $"requires root: {why} (run as root, as CI does)";
        }
    }

    public string Why { get; }
}

/// <summary>The <see cref="TheoryAttribute"/> counterpart of <see cref="RootFactAttribute"/>.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    /// <param name="why">What the test needs root for.</param>
    public RootTheoryAttribute(string why)
    {
        Why = why;
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = $"requires root: {why} (run as root, as CI does)";
        }
    }

    public string Why { get; }
}
