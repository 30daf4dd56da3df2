using System.Globalization;

namespace Platform.CloudInit.Apply;

/// <summary>
/// The target system's files, addressed by paths inside it (<c>/etc/hostname</c>) and mapped under
/// the root. Writes are atomic (temporary file in the same directory, chmod, chown, rename), as
/// coreos-cloudinit's WriteFile. Owners resolve against the target's /etc/passwd and /etc/group,
/// so an image tree gets the ids of its own accounts. Every change is recorded; in dry-run nothing
/// is changed.
/// </summary>
internal sealed class TargetFileSystem
{
    private readonly string _root;
    private readonly bool _dryRun;
    private readonly List<ApplyAction> _actions;

    public TargetFileSystem(string root, bool dryRun, List<ApplyAction> actions)
    {
        _root = Path.GetFullPath(root);
        _dryRun = dryRun;
        _actions = actions;
    }

    /// <summary>The host path of <paramref name="targetPath"/> (which may be relative to the root).</summary>
    public string HostPath(string targetPath)
    {
        string relative = targetPath.TrimStart('/');
        return relative.Length == 0 ? _root : Path.Combine(_root, relative);
    }

    public bool Exists(string targetPath) => File.Exists(HostPath(targetPath)) || Directory.Exists(HostPath(targetPath));

    public byte[]? TryRead(string targetPath)
    {
        try
        {
            return File.ReadAllBytes(HostPath(targetPath));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes <paramref name="content"/> atomically with <paramref name="mode"/> and optional owner.</summary>
    /// <exception cref="ApplyException">The owner is unknown or the write failed.</exception>
    public void Write(string targetPath, byte[] content, UnixFileMode mode, string owner = "")
    {
        // In dry-run the owner may be a user this very config would have created: not resolved.
        (int Uid, int Gid)? ids = owner.Length == 0 || _dryRun ? null : ResolveOwner(owner);
        _actions.Add(new ApplyAction("write", Normalize(targetPath), FormatMode(mode) + (owner.Length > 0 ? " " + owner : string.Empty)));
        if (_dryRun)
        {
            return;
        }

        string full = HostPath(targetPath);
        string directory = Path.GetDirectoryName(full)!;
        EnsureDirectory(directory);
        string temp = Path.Combine(directory, "cloudinit-temp" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            File.WriteAllBytes(temp, content);
            File.SetUnixFileMode(temp, mode);
            if (ids is (int uid, int gid))
            {
                Chown(temp, uid, gid);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new ApplyException($"writing {targetPath}: {e.Message}", e);
        }
    }

    /// <summary>Creates a directory (and parents, 0755), then sets mode and owner of the last one.</summary>
    public void CreateDirectory(string targetPath, UnixFileMode mode, int? uid = null, int? gid = null)
    {
        _actions.Add(new ApplyAction("mkdir", Normalize(targetPath), FormatMode(mode)));
        if (_dryRun)
        {
            return;
        }

        string full = HostPath(targetPath);
        EnsureDirectory(full);
        File.SetUnixFileMode(full, mode);
        if (uid is int u && gid is int g)
        {
            Chown(full, u, g);
        }
    }

    /// <summary>Replaces whatever is at <paramref name="targetPath"/> with a symlink to <paramref name="linkTarget"/>.</summary>
    public void Symlink(string targetPath, string linkTarget)
    {
        _actions.Add(new ApplyAction("symlink", Normalize(targetPath), linkTarget));
        if (_dryRun)
        {
            return;
        }

        string full = HostPath(targetPath);
        EnsureDirectory(Path.GetDirectoryName(full)!);
        if (File.Exists(full) || IsSymlink(full))
        {
            File.Delete(full);
        }

        File.CreateSymbolicLink(full, linkTarget);
    }

    public void Remove(string targetPath)
    {
        _actions.Add(new ApplyAction("remove", Normalize(targetPath), string.Empty));
        if (!_dryRun)
        {
            File.Delete(HostPath(targetPath));
        }
    }

    /// <summary>True for an empty regular file or anything resolving to a character device (/dev/null).</summary>
    public bool IsNullOrEmpty(string targetPath, out bool exists)
    {
        string full = HostPath(targetPath);
        var info = new FileInfo(full);
        if (IsSymlink(full))
        {
            exists = true;
            return info.LinkTarget == "/dev/null";
        }

        exists = info.Exists;
        return exists && info.Length == 0;
    }

    /// <summary>Resolves <c>user</c>, <c>user:group</c>, <c>user.group</c>, or numeric ids against the target's databases.</summary>
    public (int Uid, int Gid) ResolveOwner(string owner)
    {
        int separator = owner.IndexOfAny([':', '.']);
        string user = separator < 0 ? owner : owner[..separator];
        string? group = separator < 0 ? null : owner[(separator + 1)..];
        int uid;
        int gid;
        string[]? passwd = FindEntry("/etc/passwd", user);
        if (int.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out int numericUid))
        {
            uid = numericUid;
            gid = passwd is not null ? int.Parse(passwd[3], CultureInfo.InvariantCulture) : numericUid;
        }
        else if (passwd is not null)
        {
            uid = int.Parse(passwd[2], CultureInfo.InvariantCulture);
            gid = int.Parse(passwd[3], CultureInfo.InvariantCulture);
        }
        else
        {
            throw new ApplyException($"chown: invalid user: '{owner}'");
        }

        if (!string.IsNullOrEmpty(group))
        {
            if (int.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out int numericGid))
            {
                gid = numericGid;
            }
            else if (FindEntry("/etc/group", group) is string[] entry)
            {
                gid = int.Parse(entry[2], CultureInfo.InvariantCulture);
            }
            else
            {
                throw new ApplyException($"chown: invalid group: '{owner}'");
            }
        }

        return (uid, gid);
    }

    /// <summary>The colon-separated fields of the entry named <paramref name="name"/> in a passwd-format file.</summary>
    public string[]? FindEntry(string database, string name)
    {
        byte[]? bytes = TryRead(database);
        if (bytes is null)
        {
            return null;
        }

        foreach (string line in System.Text.Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            string[] fields = line.Split(':');
            if (fields.Length >= 4 && fields[0] == name)
            {
                return fields;
            }
        }

        return null;
    }

    public void Record(string verb, string target, string detail) => _actions.Add(new ApplyAction(verb, target, detail));

    internal static string FormatMode(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8).PadLeft(3, '0');

    private static string Normalize(string targetPath) => "/" + targetPath.TrimStart('/');

    private static void EnsureDirectory(string full)
    {
        if (!Directory.Exists(full))
        {
            Directory.CreateDirectory(full, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    private static bool IsSymlink(string full) => new FileInfo(full).LinkTarget is not null;

    private static void Chown(string path, int uid, int gid)
    {
        if (Interop.Chown(path, uid, gid) != 0)
        {
            throw new ApplyException($"chown {uid}:{gid} {path}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary file is named so it cannot be mistaken for a config file.
        }
    }
}
