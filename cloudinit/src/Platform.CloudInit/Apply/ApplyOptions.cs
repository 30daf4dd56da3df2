namespace Platform.CloudInit.Apply;

/// <summary>How and where a cloud-config is applied.</summary>
public sealed class ApplyOptions
{
    /// <summary>The root of the target system: <c>/</c> for this machine, an image tree otherwise.</summary>
    public string Root { get; init; } = "/";

    /// <summary>The workspace inside the target (scripts are saved here).</summary>
    public string Workspace { get; init; } = "/var/lib/coreos-cloudinit";

    /// <summary>Name of the authorized_keys.d entry keys are written under (<c>--ssh-key-name</c>).</summary>
    public string SshKeyName { get; init; } = "coreos-cloudinit";

    /// <summary>Only record the actions; change nothing.</summary>
    public bool DryRun { get; init; }

    public required ISystemctl Systemctl { get; init; }

    public required IUserManager Users { get; init; }

    public required IHostname Hostname { get; init; }

    public required IScriptRunner Scripts { get; init; }
}
