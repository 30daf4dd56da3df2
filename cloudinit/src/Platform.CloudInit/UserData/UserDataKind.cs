namespace Platform.CloudInit.UserData;

/// <summary>What a piece of user-data is, decided the way coreos-cloudinit decides it.</summary>
public enum UserDataKind
{
    /// <summary>No bytes at all: nothing to validate or apply.</summary>
    Empty,

    /// <summary>The first line is exactly <c>#cloud-config</c> (a trailing CR is tolerated).</summary>
    CloudConfig,

    /// <summary>The first line starts with <c>#!</c>: run once per boot from the workspace.</summary>
    Script,

    /// <summary>JSON with <c>ignitionVersion</c> or <c>ignition.version</c>: declined.</summary>
    Ignition,

    /// <summary>Anything else; the validator reports <c>must be "#cloud-config" or begin with "#!"</c>.</summary>
    Unknown,
}
