namespace Platform.Rkt.Networking;

/// <summary>Whether a recorded network namespace path still refers to a namespace.</summary>
internal static class NetnsProbe
{
    /// <summary>
    /// True when <paramref name="path"/> is a <c>/proc/…/ns/net</c> link that exists, or a bind mount of
    /// type <c>nsfs</c> (what <c>ip netns add</c> and rkt make). A leftover empty file is not a namespace:
    /// plugins would fail on it, so DEL then runs with an empty CNI_NETNS as the spec allows.
    /// </summary>
    public static bool IsAlive(string path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return false;
        }

        if (path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return true;
        }

        string full = Path.GetFullPath(path);
        try
        {
            foreach (string line in File.ReadLines("/proc/self/mountinfo"))
            {
                // "36 35 0:4 net:[4026532] /run/netns/x rw,... shared:1 - nsfs nsfs rw"
                string[] fields = line.Split(' ');
                int dash = Array.IndexOf(fields, "-");
                if (fields.Length > 4 && dash > 4 && dash + 1 < fields.Length && fields[dash + 1] == "nsfs" && Unescape(fields[4]) == full)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            return true; // Cannot tell: let the plugins decide.
        }

        return false;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var builder = new System.Text.StringBuilder();
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                builder.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                builder.Append(field[i]);
            }
        }

        return builder.ToString();
    }
}
