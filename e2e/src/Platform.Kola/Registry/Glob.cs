namespace Platform.Kola.Registry;

/// <summary>
/// Shell-style name patterns as kola matches test names: <c>*</c> any run of characters,
/// <c>?</c> one character, <c>[abc]</c>/<c>[a-z]</c>/<c>[!a]</c> a class, <c>\x</c> a literal.
/// </summary>
internal sealed class Glob
{
    private readonly string _pattern;

    private Glob(string pattern) => _pattern = pattern;

    /// <exception cref="FormatException">An unterminated class or a trailing backslash.</exception>
    public static Glob Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                if (++i == pattern.Length)
                {
                    throw new FormatException($"bad pattern {pattern}: trailing backslash");
                }
            }
            else if (pattern[i] == '[' && ClassEnd(pattern, i) < 0)
            {
                throw new FormatException($"bad pattern {pattern}: unterminated [");
            }
        }

        return new Glob(pattern);
    }

    public bool IsMatch(string name) => Match(0, name, 0);

    private bool Match(int p, string name, int n)
    {
        while (p < _pattern.Length)
        {
            char c = _pattern[p];
            if (c == '*')
            {
                while (p < _pattern.Length && _pattern[p] == '*')
                {
                    p++;
                }

                if (p == _pattern.Length)
                {
                    return true;
                }

                for (int k = n; k <= name.Length; k++)
                {
                    if (Match(p, name, k))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (n == name.Length)
            {
                return false;
            }

            if (c == '?')
            {
                p++;
            }
            else if (c == '[')
            {
                int end = ClassEnd(_pattern, p);
                if (!ClassMatches(_pattern.AsSpan(p + 1, end - p - 1), name[n]))
                {
                    return false;
                }

                p = end + 1;
            }
            else
            {
                if (c == '\\')
                {
                    c = _pattern[++p];
                }

                if (c != name[n])
                {
                    return false;
                }

                p++;
            }

            n++;
        }

        return n == name.Length;
    }

    /// <summary>The index of the <c>]</c> closing the class opened at <paramref name="open"/>, or -1.</summary>
    private static int ClassEnd(string pattern, int open)
    {
        int i = open + 1;
        if (i < pattern.Length && pattern[i] == '!')
        {
            i++;
        }

        if (i < pattern.Length && pattern[i] == ']')
        {
            i++; // a leading ] is a member
        }

        for (; i < pattern.Length; i++)
        {
            if (pattern[i] == ']')
            {
                return i;
            }
        }

        return -1;
    }

    private static bool ClassMatches(ReadOnlySpan<char> body, char c)
    {
        bool negate = body.Length > 0 && body[0] == '!';
        if (negate)
        {
            body = body[1..];
        }

        bool found = false;
        for (int i = 0; i < body.Length; i++)
        {
            if (i + 2 < body.Length && body[i + 1] == '-')
            {
                found |= c >= body[i] && c <= body[i + 2];
                i += 2;
            }
            else
            {
                found |= c == body[i];
            }
        }

        return found != negate;
    }
}
