namespace Platform.Flannel.Cni.Cni;

/// <summary>One CNI invocation: the <c>CNI_*</c> variables and the configuration from stdin (libcni's <c>skel.CmdArgs</c>).</summary>
internal sealed record CniArgs
{
    public required string Command { get; init; }

    public string ContainerId { get; init; } = "";

    public string Netns { get; init; } = "";

    public string IfName { get; init; } = "";

    public string Args { get; init; } = "";

    public string Path { get; init; } = "";

    public required byte[] StdinData { get; init; }

    /// <summary>The environment to hand to a delegate (the caller's, unchanged).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>The three operations a plugin implements; each returns what goes to stdout on success.</summary>
internal interface ICniPlugin
{
    public string Add(CniArgs args);

    public string Del(CniArgs args);

    public string Check(CniArgs args);
}
