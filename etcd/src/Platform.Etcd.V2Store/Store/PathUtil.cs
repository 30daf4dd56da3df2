namespace Platform.Etcd.V2Store.Store;

/// <summary>Key path handling with Go's <c>path.Clean(path.Join("/", p))</c> semantics.</summary>
internal static class PathUtil
{
    /// <summary>The absolute, cleaned form: no empty, "." or ".." segments, no trailing slash except for "/".</summary>
    public static string Clean(string path)
    {
        var segments = new List<string>();
        foreach (string segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }

                continue;
            }

            segments.Add(segment);
        }

        return "/" + string.Join('/', segments);
    }

    /// <summary>Joins a cleaned directory path and a child name.</summary>
    public static string Join(string dir, string name) => dir == "/" ? "/" + name : dir + "/" + name;
}
