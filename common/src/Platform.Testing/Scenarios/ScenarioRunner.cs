namespace Platform.Testing.Scenarios;

/// <summary>
/// Runs scenario files: each command goes to a handler, whose output must equal the expected output
/// in the file. With <c>PLATFORM_REWRITE=1</c> (set by <c>./platform test --rewrite</c>) the file is
/// rewritten with the actual outputs instead; review the diff and commit it only if you understand
/// what caused it.
/// </summary>
public static class ScenarioRunner
{
    /// <summary>The environment switch that turns comparison into regeneration.</summary>
    public const string RewriteVariable = "PLATFORM_REWRITE";

    public static bool RewriteRequested =>
        Environment.GetEnvironmentVariable(RewriteVariable) is "1" or "true";

    /// <summary>Runs <paramref name="path"/>, rewriting it when <see cref="RewriteRequested"/>.</summary>
    public static void Run(string path, Func<ScenarioCommand, string> execute) => Run(path, execute, RewriteRequested);

    /// <summary>Runs every block of <paramref name="path"/> through <paramref name="execute"/>.</summary>
    /// <exception cref="ScenarioMismatchException">An output differs and <paramref name="rewrite"/> is false.</exception>
    public static void Run(string path, Func<ScenarioCommand, string> execute, bool rewrite)
    {
        ArgumentNullException.ThrowIfNull(execute);
        ScenarioFile file = ScenarioFile.Load(path);
        var outputs = new List<string>(file.Blocks.Count);
        foreach (ScenarioBlock block in file.Blocks)
        {
            string actual = ScenarioFile.Normalize(execute(block.Command));
            if (!rewrite && actual != block.ExpectedOutput)
            {
                throw new ScenarioMismatchException(block, actual);
            }

            outputs.Add(actual);
        }

        if (rewrite)
        {
            string rendered = file.Render(outputs);
            if (rendered != File.ReadAllText(path))
            {
                File.WriteAllText(path, rendered);
            }
        }
    }

    /// <summary>
    /// The scenario files under <paramref name="relativeDirectory"/> of the calling test project's
    /// source folder, as xunit <c>MemberData</c> rows of one file name each.
    /// </summary>
    public static IEnumerable<object[]> Files(string relativeDirectory = "testdata") =>
        Directory.EnumerateFiles(SourceDirectory(relativeDirectory), "*.txt")
            .Select(System.IO.Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .Select(name => new object[] { name! });

    /// <summary>
    /// <paramref name="relativeDirectory"/> inside the source folder of the test project being run,
    /// found by walking up from the test binaries to the nearest folder holding a <c>.csproj</c>.
    /// Scenarios are read from (and rewritten in) the source tree, never a copy in <c>bin/</c>.
    /// </summary>
    public static string SourceDirectory(string relativeDirectory)
    {
        DirectoryInfo? dir = new(AppContext.BaseDirectory);
        while (dir is not null && dir.GetFiles("*.csproj").Length == 0)
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new DirectoryNotFoundException($"no project folder above {AppContext.BaseDirectory}");
        }

        return System.IO.Path.Combine(dir.FullName, relativeDirectory);
    }
}

/// <summary>A scenario command produced output other than the file expects.</summary>
public sealed class ScenarioMismatchException : Exception
{
    public ScenarioMismatchException()
    {
    }

    public ScenarioMismatchException(string message)
        : base(message)
    {
    }

    public ScenarioMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ScenarioMismatchException(ScenarioBlock block, string actual)
        : base(
            $"{block.Command.Position}: {block.CommandLine}\n" +
            $"expected:\n{block.ExpectedOutput}\n" +
            $"actual:\n{actual}\n" +
            $"(run with {ScenarioRunner.RewriteVariable}=1 or `./platform test --rewrite` to regenerate; commit only changes you understand)")
    {
        Expected = block.ExpectedOutput;
        Actual = actual;
    }

    public string Expected { get; } = string.Empty;

    public string Actual { get; } = string.Empty;
}
