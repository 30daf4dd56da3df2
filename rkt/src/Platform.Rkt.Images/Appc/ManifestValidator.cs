using System.Text.RegularExpressions;

namespace Platform.Rkt.Images.Appc;

/// <summary>
/// Checks an <see cref="ImageManifest"/> against appc <c>spec/aci.md</c> and <c>spec/types.md</c>,
/// the same rules <c>actool validate</c> applies.
/// </summary>
public static partial class ManifestValidator
{
    /// <summary>Every rule the manifest breaks, in document order; empty when valid.</summary>
    public static IReadOnlyList<string> Check(ImageManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var errors = new List<string>();
        if (manifest.AcKind != "ImageManifest")
        {
            errors.Add($"acKind must be \"ImageManifest\", not \"{manifest.AcKind}\"");
        }

        if (!SemverRegex().IsMatch(manifest.AcVersion))
        {
            errors.Add($"acVersion \"{manifest.AcVersion}\" is not a semantic version");
        }

        if (!AppcNames.IsAcIdentifier(manifest.Name))
        {
            errors.Add($"name \"{manifest.Name}\" is not a valid AC Identifier");
        }

        CheckLabels(manifest.Labels, "labels", errors);
        CheckOsArch(manifest.Labels, errors);
        CheckLabels(manifest.Annotations, "annotations", errors);
        if (manifest.App is { } app)
        {
            CheckApp(app, errors);
        }

        foreach (Dependency dependency in manifest.Dependencies ?? [])
        {
            if (!AppcNames.IsAcIdentifier(dependency.ImageName))
            {
                errors.Add($"dependency imageName \"{dependency.ImageName}\" is not a valid AC Identifier");
            }

            if (dependency.ImageId is { } id && !ImageDigest.TryParse(id, out _))
            {
                errors.Add($"dependency imageID \"{id}\" is not a valid image hash");
            }

            CheckLabels(dependency.Labels, $"dependency {dependency.ImageName} labels", errors);
        }

        foreach (string path in manifest.PathWhitelist ?? [])
        {
            if (!path.StartsWith('/'))
            {
                errors.Add($"pathWhitelist entry \"{path}\" is not absolute");
            }
        }

        return errors;
    }

    /// <summary>Throws the first broken rule as an <see cref="InvalidImageException"/>.</summary>
    public static void Validate(ImageManifest manifest)
    {
        IReadOnlyList<string> errors = Check(manifest);
        if (errors.Count > 0)
        {
            throw new InvalidImageException("invalid image manifest: " + string.Join("; ", errors));
        }
    }

    private static void CheckLabels(List<Label>? labels, string what, List<string> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (Label label in labels ?? [])
        {
            if (!AppcNames.IsAcIdentifier(label.Name))
            {
                errors.Add($"{what}: name \"{label.Name}\" is not a valid AC Identifier");
            }

            if (!seen.Add(label.Name))
            {
                errors.Add($"{what}: duplicate name \"{label.Name}\"");
            }
        }
    }

    private static void CheckOsArch(List<Label>? labels, List<string> errors)
    {
        string? os = labels?.FirstOrDefault(l => l.Name == "os")?.Value;
        string? arch = labels?.FirstOrDefault(l => l.Name == "arch")?.Value;
        if (os is null)
        {
            if (arch is not null)
            {
                errors.Add("label arch given without label os");
            }

            return;
        }

        if (!AppcNames.ValidOsArch.TryGetValue(os, out string[]? arches))
        {
            errors.Add($"bad os \"{os}\"");
        }
        else if (arch is not null && !arches.Contains(arch))
        {
            errors.Add($"bad arch \"{arch}\" for os \"{os}\" (supported: {string.Join(", ", arches)})");
        }
    }

    private static void CheckApp(App app, List<string> errors)
    {
        if (app.Exec is { Count: > 0 } exec && !exec[0].StartsWith('/'))
        {
            errors.Add($"app exec \"{exec[0]}\" is not an absolute path");
        }

        if (string.IsNullOrEmpty(app.User))
        {
            errors.Add("app user is required");
        }

        if (string.IsNullOrEmpty(app.Group))
        {
            errors.Add("app group is required");
        }

        if (app.WorkingDirectory is { Length: > 0 } wd && !wd.StartsWith('/'))
        {
            errors.Add($"app workingDirectory \"{wd}\" is not absolute");
        }

        var handlers = new HashSet<string>(StringComparer.Ordinal);
        foreach (EventHandler handler in app.EventHandlers ?? [])
        {
            if (handler.Name is not ("pre-start" or "post-stop"))
            {
                errors.Add($"event handler name \"{handler.Name}\" must be pre-start or post-stop");
            }

            if (!handlers.Add(handler.Name))
            {
                errors.Add($"duplicate event handler \"{handler.Name}\"");
            }
        }

        var variables = new HashSet<string>(StringComparer.Ordinal);
        foreach (Label variable in app.Environment ?? [])
        {
            if (!EnvironmentNameRegex().IsMatch(variable.Name))
            {
                errors.Add($"environment variable name \"{variable.Name}\" is invalid");
            }

            if (!variables.Add(variable.Name))
            {
                errors.Add($"duplicate environment variable \"{variable.Name}\"");
            }
        }

        foreach (Isolator isolator in app.Isolators ?? [])
        {
            if (!AppcNames.IsAcIdentifier(isolator.Name))
            {
                errors.Add($"isolator name \"{isolator.Name}\" is not a valid AC Identifier");
            }
        }

        var mountNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (MountPoint mount in app.MountPoints ?? [])
        {
            if (!AppcNames.IsAcName(mount.Name))
            {
                errors.Add($"mount point name \"{mount.Name}\" is not a valid AC Name");
            }

            if (!mountNames.Add(mount.Name))
            {
                errors.Add($"duplicate mount point \"{mount.Name}\"");
            }

            if (!mount.Path.StartsWith('/'))
            {
                errors.Add($"mount point \"{mount.Name}\" path \"{mount.Path}\" is not absolute");
            }
        }

        var portNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (Port port in app.Ports ?? [])
        {
            if (!AppcNames.IsAcName(port.Name))
            {
                errors.Add($"port name \"{port.Name}\" is not a valid AC Name");
            }

            if (!portNames.Add(port.Name))
            {
                errors.Add($"duplicate port \"{port.Name}\"");
            }

            if (port.Protocol is not ("tcp" or "udp"))
            {
                errors.Add($"port \"{port.Name}\" protocol \"{port.Protocol}\" must be tcp or udp");
            }

            if (port.Number is < 1 or > 65535)
            {
                errors.Add($"port \"{port.Name}\" number {port.Number} is out of range 1-65535");
            }

            if (port.Count < 1 || port.Number + port.Count - 1 > 65535)
            {
                errors.Add($"port \"{port.Name}\" count {port.Count} is out of range");
            }
        }
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex SemverRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z_0-9.]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentNameRegex();
}
