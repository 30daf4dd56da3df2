namespace Platform.Testing;

/// <summary>
/// A fresh directory for one test under <c>/tmp/platform-tests</c>, removed with everything in it
/// on <see cref="Dispose"/> (use it with <c>using</c> so failures clean up too).
/// </summary>
public sealed class TestDirectory : IDisposable
{
    private TestDirectory(string path)
    {
        Path = path;
    }

    /// <summary>The absolute path of the directory.</summary>
    public string Path { get; }

    /// <param name="name">A readable prefix, usually the test's name.</param>
    public static TestDirectory Create(string name)
    {
        string root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "platform-tests");
        Directory.CreateDirectory(root);
        string path = System.IO.Path.Combine(root, $"{(name.Length > 60 ? name[..60] : name)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return new TestDirectory(path);
    }

    /// <summary>A path inside the directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        // Tests may leave read-only files behind (e.g. a rendered image tree); make them deletable.
        // Symbolic links are skipped: following one (chmod, or recursing into a linked directory)
        // would change files outside the test directory, e.g. under /etc.
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        foreach (string file in Directory.EnumerateFiles(Path, "*", options))
        {
            File.SetAttributes(file, FileAttributes.Normal);
        }

        Directory.Delete(Path, recursive: true);
    }
}
