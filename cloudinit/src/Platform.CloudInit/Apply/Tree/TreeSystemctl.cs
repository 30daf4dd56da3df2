namespace Platform.CloudInit.Apply.Tree;

/// <summary>
/// systemd of a tree that is not running: <c>enable</c> is done as <c>systemctl --root</c> does
/// (symlinks for the [Install] section's WantedBy=, RequiredBy= and Alias=), while daemon-reload and
/// unit commands are recorded in <see cref="Recorded"/>: they take effect when the system boots.
/// </summary>
internal sealed class TreeSystemctl : ISystemctl
{
    private static readonly string[] s_unitDirectories = ["etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"];
    private readonly string _root;
    private readonly List<string> _recorded = [];

    public TreeSystemctl(string root)
    {
        _root = root;
    }

    /// <summary>The commands not run, as <c>systemctl</c> argument lines.</summary>
    public IReadOnlyList<string> Recorded => _recorded;

    public Task DaemonReloadAsync(CancellationToken cancellationToken)
    {
        _recorded.Add("daemon-reload");
        return Task.CompletedTask;
    }

    public Task<string> RunAsync(string command, string unit, CancellationToken cancellationToken)
    {
        _recorded.Add($"{command} {unit}");
        return Task.FromResult("recorded");
    }

    public Task EnableAsync(Config.Unit unit, CancellationToken cancellationToken)
    {
        string? found = s_unitDirectories.Select(d => d + "/" + unit.Name).FirstOrDefault(p => File.Exists(Path.Combine(_root, p)));
        if (found is null)
        {
            throw new ApplyException($"Failed to enable unit: Unit file {unit.Name} does not exist.");
        }

        string linkBase = unit.Runtime ? "run/systemd/system" : "etc/systemd/system";
        foreach ((string key, string value) in InstallSection(File.ReadAllText(Path.Combine(_root, found))))
        {
            foreach (string item in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string link = key switch
                {
                    "WantedBy" => $"{linkBase}/{item}.wants/{unit.Name}",
                    "RequiredBy" => $"{linkBase}/{item}.requires/{unit.Name}",
                    "Alias" => $"{linkBase}/{item}",
                    _ => string.Empty,
                };
                if (link.Length == 0)
                {
                    continue;
                }

                string hostLink = Path.Combine(_root, link);
                Directory.CreateDirectory(Path.GetDirectoryName(hostLink)!);
                if (File.Exists(hostLink) || new FileInfo(hostLink).LinkTarget is not null)
                {
                    File.Delete(hostLink);
                }

                File.CreateSymbolicLink(hostLink, "/" + found);
            }
        }

        return Task.CompletedTask;
    }

    private static IEnumerable<(string Key, string Value)> InstallSection(string content)
    {
        bool inInstall = false;
        foreach (string raw in content.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith('['))
            {
                inInstall = line == "[Install]";
                continue;
            }

            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (inInstall && equals > 0 && !line.StartsWith('#'))
            {
                yield return (line[..equals].Trim(), line[(equals + 1)..].Trim());
            }
        }
    }
}
