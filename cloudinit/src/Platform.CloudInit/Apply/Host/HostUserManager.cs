namespace Platform.CloudInit.Apply.Host;

/// <summary>Users of this machine: looked up in /etc/passwd, created with useradd, passwords set with chpasswd -e.</summary>
internal sealed class HostUserManager : IUserManager
{
    private readonly Tree.TreeUserManager _files = new("/");

    public Account? Find(string name) => _files.Find(name);

    public int? FindGroup(string name) => _files.FindGroup(name);

    public Task CreateAsync(Config.User user, CancellationToken cancellationToken)
    {
        List<string> args = Applier.UserAddArguments(user);
        args[1] = user.PasswordHash.Length > 0 ? user.PasswordHash : "*";
        return ProcessRunner.RunAsync("useradd", args, null, cancellationToken);
    }

    public Task SetPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync("chpasswd", ["-e"], $"{name}:{passwordHash}", cancellationToken);
}
