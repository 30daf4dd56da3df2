using Platform.CloudInit.Validation;

namespace Platform.CloudInit.Tests.Validation;

/// <summary>
/// Every testdata/validate/*.yml is validated; its text report plus exit code must equal the
/// sibling .report file. The corpus has one file per coreos-cloudinit rule and per Platform rule,
/// good configs (empty reports) and bad ones.
/// </summary>
public sealed class ValidatorGoldenTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(Golden.SourceTestData(), "validate"), "*.yml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_CorpusFile_MatchesGoldenReport(string name)
    {
        string directory = Path.Combine(Golden.SourceTestData(), "validate");
        string userData = File.ReadAllText(Path.Combine(directory, name + ".yml"));

        ValidationReport report = CloudConfigValidator.Validate(userData);

        Golden.AssertMatches(Path.Combine(directory, name + ".report"), $"exit {report.ExitCode}\n{report}");
    }
}
