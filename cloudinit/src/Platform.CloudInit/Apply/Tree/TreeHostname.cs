namespace Platform.CloudInit.Apply.Tree;

/// <summary>The hostname of a tree: its /etc/hostname.</summary>
internal sealed class TreeHostname : IHostname
{
    private readonly string _root;

    public TreeHostname(string root)
    {
        _root = root;
    }

    public string Current()
    {
        string path = Path.Combine(_root, "etc/hostname");
        return File.Exists(path) ? File.ReadAllText(path).Trim() : "localhost";
    }

    public Task SetAsync(string hostname, CancellationToken cancellationToken)
    {
        string path = Path.Combine(_root, "etc/hostname");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, hostname + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return Task.CompletedTask;
    }
}
