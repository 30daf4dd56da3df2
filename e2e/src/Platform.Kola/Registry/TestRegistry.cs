namespace Platform.Kola.Registry;

/// <summary>The registered tests, in registration order, names unique (kola's register.Register).</summary>
public sealed class TestRegistry
{
    private readonly List<KolaTest> _tests = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Every registered test.</summary>
    public IReadOnlyList<KolaTest> Tests => _tests;

    /// <summary>Adds <paramref name="test"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty, taken, or the cluster size negative.</exception>
    public TestRegistry Register(KolaTest test)
    {
        ArgumentNullException.ThrowIfNull(test);
        if (string.IsNullOrWhiteSpace(test.Name))
        {
            throw new ArgumentException("a kola test needs a name", nameof(test));
        }

        if (test.ClusterSize < 0)
        {
            throw new ArgumentException($"test {test.Name}: cluster size {test.ClusterSize} is negative", nameof(test));
        }

        if (!_names.Add(test.Name))
        {
            throw new ArgumentException($"test {test.Name} is registered twice", nameof(test));
        }

        _tests.Add(test);
        return this;
    }

    /// <summary>The tests whose names match <paramref name="pattern"/> (a glob: <c>*</c>, <c>?</c>, <c>[...]</c>) and run on <paramref name="platform"/>.</summary>
    public IReadOnlyList<KolaTest> Select(string pattern, string platform)
    {
        var glob = Glob.Parse(pattern);
        return _tests.Where(t => glob.IsMatch(t.Name) && t.RunsOn(platform)).ToList();
    }
}
