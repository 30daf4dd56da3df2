using System.Diagnostics;
using Platform.CloudInit.Validation;

namespace Platform.CloudInit.Tests.Validation;

/// <summary>
/// On the subset both tools judge (users, write_files, hostname), Debian's
/// <c>cloud-init schema --config-file</c> and our validator agree: testdata/agreement/valid-*.yml
/// are accepted by both, invalid-*.yml rejected by both. known-differ-*.yml pin the documented
/// disagreements (e.g. unquoted 0644: an int to cloud-init, accepted by coreos-cloudinit), so a
/// change on either side shows up.
/// </summary>
public sealed class CloudInitAgreementTests
{
    private const string CloudInit = "/usr/bin/cloud-init";

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(Golden.SourceTestData(), "agreement"), "*.yml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [SkippableCloudInitTheory]
    [MemberData(nameof(Cases))]
    public void Validate_CommonSubset_AgreesWithDebianCloudInit(string name)
    {
        string path = Path.Combine(Golden.SourceTestData(), "agreement", name);
        bool oursValid = !CloudConfigValidator.Validate(File.ReadAllText(path)).HasErrors
            && CloudConfigValidator.Validate(File.ReadAllText(path)).Entries.All(e => !e.Message.StartsWith("incorrect type", StringComparison.Ordinal));
        bool theirsValid = RunCloudInit(path);

        if (name.StartsWith("known-differ-", StringComparison.Ordinal))
        {
            Assert.NotEqual(theirsValid, oursValid);
        }
        else
        {
            Assert.Equal(name.StartsWith("valid-", StringComparison.Ordinal), theirsValid);
            Assert.Equal(theirsValid, oursValid);
        }
    }

    private static bool RunCloudInit(string path)
    {
        var info = new ProcessStartInfo(CloudInit, ["schema", "--config-file", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(info)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    /// <summary>A theory skipped, with the reason, where Debian's cloud-init is not installed.</summary>
    private sealed class SkippableCloudInitTheoryAttribute : TheoryAttribute
    {
        public SkippableCloudInitTheoryAttribute()
        {
            if (!File.Exists(CloudInit))
            {
                Skip = "needs Debian's cloud-init (apt-get install cloud-init; ./platform test installs it as root)";
            }
        }
    }
}
