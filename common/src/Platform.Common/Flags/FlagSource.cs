namespace Platform.Common.Flags;

/// <summary>Where a flag's value came from.</summary>
public enum FlagSource
{
    /// <summary>Neither the command line nor the environment set it.</summary>
    Default,

    /// <summary>Set on the command line (<c>--name=value</c>).</summary>
    CommandLine,

    /// <summary>Set by the environment variable (<c>ETCD_NAME=value</c>).</summary>
    Environment,
}
