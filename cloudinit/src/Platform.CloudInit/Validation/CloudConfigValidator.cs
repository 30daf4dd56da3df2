using Platform.CloudInit.Schema;
using Platform.CloudInit.UserData;
using Platform.CloudInit.Yaml;

namespace Platform.CloudInit.Validation;

/// <summary>
/// <c>coreos-cloudinit --validate</c>: runs coreos-cloudinit's rules (discovery URL, encodings,
/// structure, validity, write_files under /usr, write_files under coreos) and then Platform's rules
/// for the <c>etcd2</c> and <c>flannel</c> sections (what our etcd and flanneld accept). Pure: reads
/// only the text given.
/// </summary>
public static class CloudConfigValidator
{
    /// <summary>Validates user-data (already gunzipped). Scripts, Ignition and empty input give an empty report.</summary>
    public static ValidationReport Validate(string userData)
    {
        ArgumentNullException.ThrowIfNull(userData);
        var report = new ValidationReport();
        switch (UserDataClassifier.Classify(userData))
        {
            case UserDataKind.Empty or UserDataKind.Script or UserDataKind.Ignition:
                return report;
            case UserDataKind.Unknown:
                report.Error(1, "must be \"#cloud-config\" or begin with \"#!\"");
                return report;
        }

        (YamlNode? root, YamlSyntaxError? syntax) = YamlLoader.Load(userData, normalizeKeys: true);
        if (syntax is not null)
        {
            // go-yaml v1 reports the problem mark's 0-based line (libyaml counts from 0), so a
            // problem found at the end of "foo: [a, b\n" on line 2 is reported as line 2, not 3;
            // a mark on the first line falls back to line 1 as coreos-cloudinit's "YAML error:" case.
            report.Error(Math.Max(syntax.Line - 1, 1), syntax.Message);

            // coreos-cloudinit goes on to run its rules over an empty node after a syntax error,
            // which yields one more, placeless warning; kept so reports match line for line.
            report.Warning(0, "incorrect type for \"\" (want struct)");
            return report;
        }

        // An empty document is an empty map to coreos-cloudinit: nothing to report.
        root ??= new YamlNode(string.Empty, YamlNodeKind.Map, 1);
        foreach (Action<YamlNode, ValidationReport> rule in Rules.All)
        {
            rule(root, report);
        }

        return report;
    }

    /// <summary>The schema the structure and validity rules compare against.</summary>
    internal static SchemaNode Schema => CloudConfigSchema.Root;
}
