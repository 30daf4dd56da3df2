using System.Net;
using Platform.CloudInit.Apply;
using Platform.CloudInit.Config;
using Platform.CloudInit.Datasources;
using Platform.CloudInit.Substitution;
using Platform.Testing;

namespace Platform.CloudInit.Tests.Apply;

/// <summary>
/// Each testdata/apply/&lt;case&gt;/ holds user-data, metadata (substitution addresses) and an
/// optional seed tree. The user-data is substituted, parsed and applied into a fresh root seeded
/// with the tree; the result, rendered file by file, must equal expected.tree, and the actions
/// (including the systemctl commands recorded for first boot) expected.actions.
/// </summary>
public sealed class ApplyGoldenTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string directory in Directory.GetDirectories(Path.Combine(Golden.SourceTestData(), "apply")).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(directory));
        }

        return data;
    }

    [RootTheory("sets file owners (chown) in the applied tree")]
    [MemberData(nameof(Cases))]
    public async Task ApplyAsync_CaseIntoTempRoot_TreeMatchesGolden(string name)
    {
        string caseDirectory = Path.Combine(Golden.SourceTestData(), "apply", name);
        using TestDirectory root = TestDirectory.Create(nameof(ApplyAsync_CaseIntoTempRoot_TreeMatchesGolden));
        string seed = Path.Combine(caseDirectory, "seed");
        if (Directory.Exists(seed))
        {
            CopyTree(seed, root.Path);
        }

        (IReadOnlyList<ApplyAction> actions, IReadOnlyList<string> recorded) = await ApplyCaseAsync(caseDirectory, root.Path);

        Golden.AssertMatches(Path.Combine(caseDirectory, "expected.tree"), TreeRenderer.Render(root.Path));
        Golden.AssertMatches(
            Path.Combine(caseDirectory, "expected.actions"),
            string.Concat(actions.Select(a => a + "\n")) + string.Concat(recorded.Select(r => $"recorded: systemctl {r}\n")));
    }

    [RootFact("sets file owners (chown) in the applied tree")]
    public async Task ApplyAsync_SameConfigTwice_SecondRunLeavesTreeUnchanged()
    {
        string caseDirectory = Path.Combine(Golden.SourceTestData(), "apply", "full");
        using TestDirectory root = TestDirectory.Create(nameof(ApplyAsync_SameConfigTwice_SecondRunLeavesTreeUnchanged));
        CopyTree(Path.Combine(caseDirectory, "seed"), root.Path);
        await ApplyCaseAsync(caseDirectory, root.Path);
        string first = TreeRenderer.Render(root.Path);

        await ApplyCaseAsync(caseDirectory, root.Path);

        Assert.Equal(first, TreeRenderer.Render(root.Path));
    }

    [Fact]
    public async Task ApplyAsync_DryRun_ChangesNothingAndListsActions()
    {
        string caseDirectory = Path.Combine(Golden.SourceTestData(), "apply", "full");
        using TestDirectory root = TestDirectory.Create(nameof(ApplyAsync_DryRun_ChangesNothingAndListsActions));
        CopyTree(Path.Combine(caseDirectory, "seed"), root.Path);
        string before = TreeRenderer.Render(root.Path);

        (IReadOnlyList<ApplyAction> actions, _) = await ApplyCaseAsync(caseDirectory, root.Path, dryRun: true);

        Assert.Equal(before, TreeRenderer.Render(root.Path));
        Assert.Contains(actions, a => a.Verb == "write" && a.Target == "/run/systemd/system/etcd2.service.d/20-cloudinit.conf");
        Assert.Contains(actions, a => a.Verb == "useradd" && a.Target == "elroy");
    }

    [Fact]
    public async Task ApplyAsync_GroupMissing_FailsLikeUseradd()
    {
        using TestDirectory root = TestDirectory.Create(nameof(ApplyAsync_GroupMissing_FailsLikeUseradd));
        CloudConfig config = CloudConfigParser.Parse("#cloud-config\nusers:\n  - name: a\n    groups: [nosuch]\n").Config;

        ApplyException error = await Assert.ThrowsAsync<ApplyException>(() => Applier(root.Path, false).ApplyAsync(config, NoSubstitutions(), CancellationToken.None));

        Assert.Equal("useradd: group 'nosuch' does not exist", error.Message);
    }

    [Fact]
    public async Task ApplyAsync_UnknownOwner_FailsLikeChown()
    {
        using TestDirectory root = TestDirectory.Create(nameof(ApplyAsync_UnknownOwner_FailsLikeChown));
        CloudConfig config = CloudConfigParser.Parse("#cloud-config\nwrite_files:\n  - path: /etc/x\n    owner: nobody-here\n").Config;

        ApplyException error = await Assert.ThrowsAsync<ApplyException>(() => Applier(root.Path, false).ApplyAsync(config, NoSubstitutions(), CancellationToken.None));

        Assert.Equal("chown: invalid user: 'nobody-here'", error.Message);
        Assert.False(File.Exists(root.Combine("etc", "x")));
    }

    [Fact]
    public async Task RunScriptAsync_TreeRoot_SavesScriptInWorkspaceAndRecordsIt()
    {
        using TestDirectory root = TestDirectory.Create(nameof(RunScriptAsync_TreeRoot_SavesScriptInWorkspaceAndRecordsIt));

        IReadOnlyList<ApplyAction> actions = await Applier(root.Path, false).RunScriptAsync("#!/bin/bash\necho hi\n", CancellationToken.None);

        ApplyAction script = Assert.Single(actions, a => a.Verb == "script");
        string saved = root.Combine(script.Target.TrimStart('/'));
        Assert.StartsWith("/var/lib/coreos-cloudinit/scripts/", script.Target, StringComparison.Ordinal);
        Assert.Equal("#!/bin/bash\necho hi\n", File.ReadAllText(saved));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(saved));
        Assert.StartsWith("coreos-cloudinit-", File.ReadAllText(root.Combine("var/lib/coreos-cloudinit/scripts/unit-name")), StringComparison.Ordinal);
    }

    private static async Task<(IReadOnlyList<ApplyAction> Actions, IReadOnlyList<string> Recorded)> ApplyCaseAsync(string caseDirectory, string root, bool dryRun = false)
    {
        var values = File.ReadAllLines(Path.Combine(caseDirectory, "metadata"))
            .Where(l => l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);
        var metadata = new Metadata
        {
            PrivateIPv4 = values.TryGetValue("private_ipv4", out string? p) ? IPAddress.Parse(p) : null,
            PublicIPv4 = values.TryGetValue("public_ipv4", out string? q) ? IPAddress.Parse(q) : null,
        };
        Substitutions substitutions = Substitutions.From(metadata, _ => null);
        string userData = substitutions.Apply(File.ReadAllText(Path.Combine(caseDirectory, "user-data")));
        CloudConfigParseResult parsed = CloudConfigParser.Parse(userData);
        Assert.Null(parsed.Error);

        SystemEffects effects = SystemEffects.ForRoot(root);
        ICloudConfigApplier applier = CloudConfigApplier.Create(new ApplyOptions
        {
            Root = root,
            DryRun = dryRun,
            Systemctl = effects.Systemctl,
            Users = effects.Users,
            Hostname = effects.Hostname,
            Scripts = effects.Scripts,
        });
        IReadOnlyList<ApplyAction> actions = await applier.ApplyAsync(parsed.Config, substitutions, CancellationToken.None);
        return (actions, effects.RecordedCommands());
    }

    private static ICloudConfigApplier Applier(string root, bool dryRun)
    {
        SystemEffects effects = SystemEffects.ForRoot(root);
        return CloudConfigApplier.Create(new ApplyOptions
        {
            Root = root,
            DryRun = dryRun,
            Systemctl = effects.Systemctl,
            Users = effects.Users,
            Hostname = effects.Hostname,
            Scripts = effects.Scripts,
        });
    }

    private static Substitutions NoSubstitutions() => Substitutions.From(Metadata.Empty, _ => null);

    private static void CopyTree(string from, string to)
    {
        foreach (string directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            File.Copy(file, target);
            File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }
}
