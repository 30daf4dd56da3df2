using System.Globalization;
using System.Text;

namespace Platform.CloudInit.Apply.Tree;

/// <summary>
/// Users and groups of an image tree, edited in its /etc/passwd, /etc/shadow and /etc/group the way
/// useradd would (without chrooting into the tree): regular uids from 1000 up, system uids from
/// 999 down, a user group of the same name unless <c>no_user_group</c> (then gid 100, "users").
/// </summary>
internal sealed class TreeUserManager : IUserManager
{
    private const int FirstUid = 1000;
    private const int LastSystemUid = 999;
    private const int UsersGid = 100;

    private readonly string _root;

    public TreeUserManager(string root)
    {
        _root = root;
    }

    public Account? Find(string name)
    {
        string[]? entry = Entry("etc/passwd", name);
        return entry is null
            ? null
            : new Account(name, int.Parse(entry[2], CultureInfo.InvariantCulture), int.Parse(entry[3], CultureInfo.InvariantCulture), entry.Length > 5 ? entry[5] : "/");
    }

    public int? FindGroup(string name)
    {
        string[]? entry = Entry("etc/group", name);
        return entry is null ? null : int.Parse(entry[2], CultureInfo.InvariantCulture);
    }

    public Task CreateAsync(Config.User user, CancellationToken cancellationToken)
    {
        foreach (string group in user.Groups)
        {
            if (FindGroup(group) is null)
            {
                throw new ApplyException($"useradd: group '{group}' does not exist");
            }
        }

        List<string> groupLines = Lines("etc/group");
        HashSet<int> usedUids = Ids(Lines("etc/passwd"));
        HashSet<int> usedGids = Ids(groupLines);
        int uid = user.System
            ? Enumerable.Range(101, LastSystemUid - 100).Reverse().First(id => !usedUids.Contains(id))
            : Math.Max(FirstUid, usedUids.Where(id => id is >= FirstUid and < 60000).DefaultIfEmpty(FirstUid - 1).Max() + 1);

        int gid;
        if (user.PrimaryGroup.Length > 0)
        {
            gid = FindGroup(user.PrimaryGroup)
                ?? (int.TryParse(user.PrimaryGroup, NumberStyles.None, CultureInfo.InvariantCulture, out int numeric) ? numeric : throw new ApplyException($"useradd: group '{user.PrimaryGroup}' does not exist"));
        }
        else if (user.NoUserGroup)
        {
            gid = UsersGid;
        }
        else
        {
            gid = usedGids.Contains(uid) ? Enumerable.Range(uid, 100000).First(id => !usedGids.Contains(id)) : uid;
            groupLines.Add($"{user.Name}:x:{gid}:");
        }

        string home = user.Homedir.Length > 0 ? user.Homedir : "/home/" + user.Name;
        string shell = user.Shell.Length > 0 ? user.Shell : "/bin/bash";
        Append("etc/passwd", $"{user.Name}:x:{uid}:{gid}:{user.Gecos}:{home}:{shell}");
        Append("etc/shadow", $"{user.Name}:{(user.PasswordHash.Length > 0 ? user.PasswordHash : "*")}:{DaysSinceEpoch()}:0:99999:7:::", restrictive: true);

        for (int i = 0; i < groupLines.Count; i++)
        {
            string[] fields = groupLines[i].Split(':');
            if (fields.Length >= 4 && user.Groups.Contains(fields[0]))
            {
                fields[3] = fields[3].Length == 0 ? user.Name : fields[3] + "," + user.Name;
                groupLines[i] = string.Join(':', fields);
            }
        }

        Save("etc/group", groupLines);
        if (!user.NoCreateHome)
        {
            string hostHome = Path.Combine(_root, home.TrimStart('/'));
            Directory.CreateDirectory(hostHome);
            File.SetUnixFileMode(hostHome, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            _ = Interop.Chown(hostHome, uid, gid);
        }

        return Task.CompletedTask;
    }

    public Task SetPasswordAsync(string name, string passwordHash, CancellationToken cancellationToken)
    {
        List<string> lines = Lines("etc/shadow");
        int index = lines.FindIndex(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        string updated = $"{name}:{passwordHash}:{DaysSinceEpoch()}:0:99999:7:::";
        if (index >= 0)
        {
            string[] fields = lines[index].Split(':');
            fields[1] = passwordHash;
            lines[index] = string.Join(':', fields);
        }
        else
        {
            lines.Add(updated);
        }

        Save("etc/shadow", lines, restrictive: true);
        return Task.CompletedTask;
    }

    // The shadow "last change" field. A tree is an image: a fixed day keeps images reproducible.
    private static string DaysSinceEpoch() => "0";

    private string[]? Entry(string database, string name) =>
        Lines(database).Select(l => l.Split(':')).FirstOrDefault(f => f.Length >= 3 && f[0] == name);

    private static HashSet<int> Ids(List<string> lines) =>
        lines.Select(l => l.Split(':')).Where(f => f.Length >= 3 && int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(f => int.Parse(f[2], CultureInfo.InvariantCulture)).ToHashSet();

    private List<string> Lines(string database)
    {
        string path = Path.Combine(_root, database);
        return File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Length > 0).ToList() : [];
    }

    private void Append(string database, string line, bool restrictive = false)
    {
        List<string> lines = Lines(database);
        lines.Add(line);
        Save(database, lines, restrictive);
    }

    private void Save(string database, List<string> lines, bool restrictive = false)
    {
        string path = Path.Combine(_root, database);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".cloudinit-temp";
        File.WriteAllText(temp, string.Concat(lines.Select(l => l + "\n")), new UTF8Encoding(false));
        File.SetUnixFileMode(temp, restrictive
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temp, path, overwrite: true);
    }
}
