namespace Platform.CloudInit.Apply;

/// <summary>One thing the applier did (or, in dry-run, would do), in order.</summary>
/// <param name="Verb">write, mkdir, symlink, remove, hostname, useradd, passwd, authorize, systemctl, script.</param>
/// <param name="Target">A path inside the target system, a unit, or a user.</param>
/// <param name="Detail">Mode and owner for files, arguments for commands; may be empty.</param>
public sealed record ApplyAction(string Verb, string Target, string Detail)
{
    public override string ToString() => Detail.Length == 0 ? $"{Verb} {Target}" : $"{Verb} {Target} ({Detail})";
}
