using System.Globalization;

namespace Platform.Linux.Processes;

/// <summary>Linux capability names (<c>CAP_NET_RAW</c>) and numbers, as capabilities(7) lists them.</summary>
public static class Capabilities
{
    private static readonly string[] s_names =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>
    /// The set an app keeps by default: the one rkt's stage1 (and systemd-nspawn) gave apps. Everything
    /// else, notably CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_SYS_MODULE, is dropped from the bounding set.
    /// </summary>
    public static IReadOnlyList<string> AppDefault { get; } =
    [
        "CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_KILL", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETFCAP", "CAP_SYS_CHROOT",
    ];

    /// <summary>Every name this table knows, in number order.</summary>
    public static IReadOnlyList<string> Names => s_names;

    /// <summary>The highest capability number the running kernel knows (<c>/proc/sys/kernel/cap_last_cap</c>).</summary>
    public static int LastSupported
    {
        get
        {
            try
            {
                return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return s_names.Length - 1;
            }
        }
    }

    /// <summary>The number of <paramref name="name"/> (<c>CAP_NET_RAW</c> or <c>net_raw</c>, any case).</summary>
    /// <exception cref="FormatException">Unknown name.</exception>
    public static int Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string upper = name.Trim().ToUpperInvariant();
        if (!upper.StartsWith("CAP_", StringComparison.Ordinal))
        {
            upper = "CAP_" + upper;
        }

        int index = Array.IndexOf(s_names, upper);
        return index >= 0 ? index : throw new FormatException($"unknown capability \"{name}\"");
    }

    /// <summary>The name of capability <paramref name="number"/>.</summary>
    public static string NameOf(int number) =>
        number >= 0 && number < s_names.Length ? s_names[number] : "CAP_" + number.ToString(CultureInfo.InvariantCulture);
}
