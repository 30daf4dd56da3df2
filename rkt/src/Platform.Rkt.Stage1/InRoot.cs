namespace Platform.Rkt.Stage1;

/// <summary>
/// Resolves a path inside an app's root the way the app would see it: symlinks are followed but
/// resolved against the root (an absolute target restarts at the root, <c>..</c> stops at it), so a
/// hostile image cannot make stage1 mount or write outside its rootfs.
/// </summary>
internal static class InRoot
{
    private const int MaxSymlinks = 40;

    /// <summary>The host path of <paramref name="path"/> inside <paramref name="root"/>, creating missing directories when asked.</summary>
    /// <exception cref="IOException">Too many symlinks, or a non-directory in the middle.</exception>
    public static string Resolve(string root, string path, bool createDirectories)
    {
        var stack = new Stack<string>(Split(path).Reverse());
        var resolved = new List<string>();
        int links = 0;
        while (stack.Count > 0)
        {
            string part = stack.Pop();
            if (part is "." or "")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            string current = Path.Join(root, string.Join('/', resolved), part);
            var info = new FileInfo(current);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxSymlinks)
                {
                    throw new IOException($"too many levels of symbolic links resolving {path} in {root}");
                }

                if (target.StartsWith('/'))
                {
                    resolved.Clear();
                }

                foreach (string p in Split(target).Reverse())
                {
                    stack.Push(p);
                }

                continue;
            }

            if (stack.Count > 0 || createDirectories)
            {
                if (!Directory.Exists(current))
                {
                    if (File.Exists(current))
                    {
                        if (stack.Count > 0)
                        {
                            throw new IOException($"{string.Join('/', resolved)}/{part} is not a directory in {root}");
                        }
                    }
                    else if (createDirectories)
                    {
                        Directory.CreateDirectory(current);
                    }
                }
            }

            resolved.Add(part);
        }

        return Path.Join(root, string.Join('/', resolved));
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
