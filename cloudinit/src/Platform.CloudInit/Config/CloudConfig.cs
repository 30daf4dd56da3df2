namespace Platform.CloudInit.Config;

/// <summary>
/// A parsed <c>#cloud-config</c> (the "strong" form coreos-cloudinit unmarshals into). Keys are in
/// underscore form; absent fields hold empty values, never null.
/// </summary>
public sealed record CloudConfig
{
    public static CloudConfig Empty { get; } = new();

    public IReadOnlyList<string> SshAuthorizedKeys { get; init; } = [];

    public CoreOSConfig CoreOS { get; init; } = new();

    public IReadOnlyList<WriteFile> WriteFiles { get; init; } = [];

    public string Hostname { get; init; } = string.Empty;

    public IReadOnlyList<User> Users { get; init; } = [];

    /// <summary>Only <c>localhost</c> is meaningful: writes <c>127.0.0.1 &lt;hostname&gt;</c> to /etc/hosts.</summary>
    public string ManageEtcHosts { get; init; } = string.Empty;
}

/// <summary>The <c>coreos:</c> section.</summary>
public sealed record CoreOSConfig
{
    public EnvSection Etcd { get; init; } = EnvSection.Empty;

    public EnvSection Etcd2 { get; init; } = EnvSection.Empty;

    public EnvSection Flannel { get; init; } = EnvSection.Empty;

    public EnvSection Fleet { get; init; } = EnvSection.Empty;

    public EnvSection Locksmith { get; init; } = EnvSection.Empty;

    public OemConfig Oem { get; init; } = new();

    public UpdateConfig Update { get; init; } = new();

    public IReadOnlyList<Unit> Units { get; init; } = [];
}

/// <summary>One non-zero setting of an environment-mapped section: <c>name: node1</c> → <c>ETCD_NAME=node1</c>.</summary>
/// <param name="Key">The key in underscore form.</param>
/// <param name="Env">The environment variable from the schema's <c>env</c> tag.</param>
/// <param name="Value">The value formatted as Go's <c>%v</c> would (bools <c>true</c>, ints in decimal).</param>
public sealed record EnvSetting(string Key, string Env, string Value);

/// <summary>
/// A section whose every field maps to an environment variable (etcd, etcd2, flannel, fleet,
/// locksmith). Holds only non-zero values, in schema declaration order.
/// </summary>
public sealed record EnvSection(IReadOnlyList<EnvSetting> Settings)
{
    public static EnvSection Empty { get; } = new([]);

    public bool IsEmpty => Settings.Count == 0;

    /// <summary>The value of <paramref name="key"/>, or null when unset or zero.</summary>
    public string? Get(string key) => Settings.FirstOrDefault(s => s.Key == key)?.Value;
}

/// <summary>A <c>write_files</c> entry.</summary>
public sealed record WriteFile
{
    public string Path { get; init; } = string.Empty;

    /// <summary>The content as written in the YAML (still encoded when <see cref="Encoding"/> is set).</summary>
    public string Content { get; init; } = string.Empty;

    /// <summary>The raw bytes of a <c>!!binary</c> content; null for ordinary text.</summary>
    public byte[]? ContentBytes { get; init; }

    public string Encoding { get; init; } = string.Empty;

    /// <summary><c>user</c>, <c>user:group</c> or numeric ids, as <c>chown</c> takes them.</summary>
    public string Owner { get; init; } = string.Empty;

    /// <summary>Octal text such as <c>0644</c>; empty means 0644.</summary>
    public string Permissions { get; init; } = string.Empty;
}

/// <summary>A <c>users</c> entry; every field of coreos-cloudinit's <c>config.User</c>.</summary>
public sealed record User
{
    public string Name { get; init; } = string.Empty;

    /// <summary>A crypt(3) hash; empty means a locked password (<c>*</c>).</summary>
    public string PasswordHash { get; init; } = string.Empty;

    public IReadOnlyList<string> SshAuthorizedKeys { get; init; } = [];

    public string SshImportGithubUser { get; init; } = string.Empty;

    public IReadOnlyList<string> SshImportGithubUsers { get; init; } = [];

    public string SshImportUrl { get; init; } = string.Empty;

    public string Gecos { get; init; } = string.Empty;

    public string Homedir { get; init; } = string.Empty;

    public bool NoCreateHome { get; init; }

    public string PrimaryGroup { get; init; } = string.Empty;

    public IReadOnlyList<string> Groups { get; init; } = [];

    public bool NoUserGroup { get; init; }

    public bool System { get; init; }

    public bool NoLogInit { get; init; }

    public string Shell { get; init; } = string.Empty;
}

/// <summary>A <c>coreos.units</c> entry.</summary>
public sealed record Unit
{
    public string Name { get; init; } = string.Empty;

    public bool Mask { get; init; }

    public bool Enable { get; init; }

    /// <summary>True: under /run/systemd (gone at reboot); false: under /etc/systemd.</summary>
    public bool Runtime { get; init; }

    public string Content { get; init; } = string.Empty;

    /// <summary>start, stop, restart, reload, try-restart, reload-or-restart or reload-or-try-restart; empty for none.</summary>
    public string Command { get; init; } = string.Empty;

    public IReadOnlyList<UnitDropIn> DropIns { get; init; } = [];

    /// <summary><c>network</c> for .network/.netdev/.link units, <c>system</c> for everything else.</summary>
    public string Group => System.IO.Path.GetExtension(Name) is ".network" or ".netdev" or ".link" ? "network" : "system";
}

/// <summary>A unit drop-in: written to <c>&lt;unit&gt;.d/&lt;name&gt;</c>.</summary>
public sealed record UnitDropIn(string Name, string Content);

/// <summary><c>coreos.oem</c>: written to /etc/oem-release.</summary>
public sealed record OemConfig
{
    public string Id { get; init; } = string.Empty;

    public string Name { get; init; } = string.Empty;

    public string VersionId { get; init; } = string.Empty;

    public string HomeUrl { get; init; } = string.Empty;

    public string BugReportUrl { get; init; } = string.Empty;

    public bool IsEmpty => Id.Length == 0 && Name.Length == 0 && VersionId.Length == 0 && HomeUrl.Length == 0 && BugReportUrl.Length == 0;
}

/// <summary><c>coreos.update</c>: rewrites /etc/coreos/update.conf.</summary>
public sealed record UpdateConfig
{
    public string RebootStrategy { get; init; } = string.Empty;

    public string Group { get; init; } = string.Empty;

    public string Server { get; init; } = string.Empty;

    public bool IsEmpty => RebootStrategy.Length == 0 && Group.Length == 0 && Server.Length == 0;
}
