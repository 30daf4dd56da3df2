using Platform.Rkt.Stage1;

namespace Platform.Rkt.Pods;

/// <summary>One app of a pod as the command line describes it (the per-app flags between <c>---</c> separators).</summary>
public sealed class AppSpec
{
    /// <summary>The stored image's ID (already fetched).</summary>
    public required string ImageId { get; init; }

    /// <summary><c>--name</c>; default: the last path component of the image name.</summary>
    public string? Name { get; init; }

    /// <summary><c>--exec</c>: replaces the image's exec (its arguments too).</summary>
    public string? Exec { get; init; }

    /// <summary>Arguments after <c>--</c>, appended to exec.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    public string? User { get; init; }

    public string? Group { get; init; }

    public IReadOnlyList<int>? SupplementaryGids { get; init; }

    public string? WorkingDirectory { get; init; }

    /// <summary><c>--mount volume=NAME,target=PATH</c>.</summary>
    public IReadOnlyList<AppMount> Mounts { get; init; } = [];

    /// <summary><c>--caps-retain</c>: exactly these capabilities.</summary>
    public IReadOnlyList<string>? CapsRetain { get; init; }

    /// <summary><c>--caps-remove</c>: the default set minus these.</summary>
    public IReadOnlyList<string>? CapsRemove { get; init; }

    /// <summary><c>--memory</c>, a Kubernetes quantity (<c>128M</c>, <c>1Gi</c>).</summary>
    public string? Memory { get; init; }

    /// <summary><c>--cpu</c>, a Kubernetes quantity (<c>500m</c>, <c>2</c>).</summary>
    public string? Cpu { get; init; }

    public bool ReadOnlyRootfs { get; init; }

    /// <summary><c>--environment</c> of this app.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];
}

/// <summary>A pod as <c>rkt run</c>/<c>rkt prepare</c> flags describe it.</summary>
public sealed class PodSpec
{
    public required IReadOnlyList<AppSpec> Apps { get; init; }

    /// <summary><c>--volume NAME,kind=host|empty,source=,readOnly=,recursive=</c>.</summary>
    public IReadOnlyList<Volume> Volumes { get; init; } = [];

    /// <summary><c>--hostname</c>; default <c>rkt-$UUID</c>.</summary>
    public string? Hostname { get; init; }

    public IReadOnlyList<string> Dns { get; init; } = [];

    public IReadOnlyList<string> DnsSearch { get; init; } = [];

    public IReadOnlyList<string> DnsOptions { get; init; } = [];

    public string? DnsDomain { get; init; }

    /// <summary><c>--hosts-entry IP=HOST</c>, or the single word <c>host</c> (copy the host's /etc/hosts).</summary>
    public IReadOnlyList<string> HostsEntries { get; init; } = [];

    /// <summary><c>--set-env</c> and <c>--set-env-file</c>, in order (later wins).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> SetEnvironment { get; init; } = [];

    public bool InheritEnvironment { get; init; }

    public bool Interactive { get; init; }

    /// <summary>The stage1 flavor name.</summary>
    public string Stage1 { get; init; } = Stage1Flavors.DefaultName;

    /// <summary><c>--net</c>.</summary>
    public string Net { get; init; } = "default";

    /// <summary><c>--port NAME:[IP:]HOSTPORT</c>.</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];

    /// <summary><c>--mds-register</c>.</summary>
    public bool MdsRegister { get; init; }

    /// <summary><c>--user-annotation</c>.</summary>
    public IReadOnlyDictionary<string, string>? UserAnnotations { get; init; }

    /// <summary><c>--user-label</c>.</summary>
    public IReadOnlyDictionary<string, string>? UserLabels { get; init; }
}
