using System.Runtime.CompilerServices;

namespace Platform.CloudInit.Tests;

/// <summary>
/// Golden files: compares output with a file in the source tree's testdata; with PLATFORM_REWRITE=1
/// (./platform test --rewrite) rewrites it instead. Review the diff before committing a rewrite.
/// </summary>
internal static class Golden
{
    public static string SourceTestData([CallerFilePath] string caller = "")
    {
        string directory = Path.GetDirectoryName(caller)!;
        while (!File.Exists(Path.Combine(directory, "Platform.CloudInit.Tests.csproj")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }

        return Path.Combine(directory, "testdata");
    }

    public static bool Rewrite => Environment.GetEnvironmentVariable("PLATFORM_REWRITE") == "1";

    public static void AssertMatches(string goldenPath, string actual)
    {
        if (Rewrite)
        {
            File.WriteAllText(goldenPath, actual);
            return;
        }

        Assert.True(File.Exists(goldenPath), $"missing golden file {goldenPath}; run with PLATFORM_REWRITE=1 to create it");
        Assert.Equal(File.ReadAllText(goldenPath), actual);
    }
}
