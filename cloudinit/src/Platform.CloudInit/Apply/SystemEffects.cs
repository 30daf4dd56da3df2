using Platform.CloudInit.Config;

namespace Platform.CloudInit.Apply;

/// <summary>
/// systemd as the applier needs it. Paths are never passed: implementations know the root they
/// act on. Commands go to systemctl when systemd runs the target system, and are recorded otherwise.
/// </summary>
public interface ISystemctl
{
    /// <summary><c>systemctl daemon-reload</c>.</summary>
    public Task DaemonReloadAsync(CancellationToken cancellationToken);

    /// <summary><c>systemctl enable [--runtime] &lt;unit&gt;</c>: processes the unit's [Install] section.</summary>
    public Task EnableAsync(Unit unit, CancellationToken cancellationToken);

    /// <summary><c>systemctl &lt;command&gt; &lt;unit&gt;</c>; returns systemd's job result or "recorded".</summary>
    public Task<string> RunAsync(string command, string unit, CancellationToken cancellationToken);
}

/// <summary>A user account as the system knows it.</summary>
/// <param name="Name">Login name.</param>
/// <param name="Uid">Numeric user id.</param>
/// <param name="Gid">Numeric primary group id.</param>
/// <param name="Home">Home directory (a path inside the target system).</param>
public sealed record Account(string Name, int Uid, int Gid, string Home);

/// <summary>Users and groups of the target system (useradd/chpasswd, or the tree's /etc files).</summary>
public interface IUserManager
{
    /// <summary>The account named <paramref name="name"/>, or null.</summary>
    public Account? Find(string name);

    /// <summary>The gid of group <paramref name="name"/>, or null.</summary>
    public int? FindGroup(string name);

    /// <summary>Creates the user with every creation-time field of <paramref name="user"/>.</summary>
    /// <exception cref="ApplyException">The user could not be created (e.g. a named group is missing).</exception>
    public Task CreateAsync(User user, CancellationToken cancellationToken);

    /// <summary>Sets an existing user's password hash.</summary>
    public Task SetPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken);
}

/// <summary>The target system's hostname.</summary>
public interface IHostname
{
    /// <summary>The current hostname (used for <c>manage_etc_hosts: localhost</c>).</summary>
    public string Current();

    /// <summary>Sets the hostname (hostnamectl, or /etc/hostname of a tree).</summary>
    public Task SetAsync(string hostname, CancellationToken cancellationToken);
}

/// <summary>Runs a <c>#!</c> user-data script saved in the workspace.</summary>
public interface IScriptRunner
{
    /// <summary>Starts the script at <paramref name="path"/> (a path on the target system); returns the unit name used.</summary>
    public Task<string> RunAsync(string path, CancellationToken cancellationToken);
}

/// <summary>Applying failed; the message says what and where.</summary>
public sealed class ApplyException : Exception
{
    public ApplyException()
    {
    }

    public ApplyException(string message)
        : base(message)
    {
    }

    public ApplyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
