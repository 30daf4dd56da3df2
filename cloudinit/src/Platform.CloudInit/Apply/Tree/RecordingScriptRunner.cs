namespace Platform.CloudInit.Apply.Tree;

/// <summary>Scripts of a tree are not run at build time: the path is recorded and run at boot.</summary>
internal sealed class RecordingScriptRunner : IScriptRunner
{
    private readonly List<string> _recorded = [];

    public IReadOnlyList<string> Recorded => _recorded;

    public Task<string> RunAsync(string path, CancellationToken cancellationToken)
    {
        _recorded.Add(path);
        return Task.FromResult($"coreos-cloudinit-{Path.GetFileName(path)}.service");
    }
}
