using Platform.Rkt.Images.Appc;

namespace Platform.Rkt.Images.Fetching.Sources.Discovery;

/// <summary>
/// An appc app string, <c>name[:version][,label=value]…</c> (appc <c>discovery.NewAppFromString</c>),
/// e.g. <c>example.com/app:1.0,os=linux</c>.
/// </summary>
public sealed record AppReference(string Name, IReadOnlyDictionary<string, string> Labels)
{
    /// <exception cref="FormatException">Not an AC Identifier, or a malformed label.</exception>
    public static AppReference Parse(string app)
    {
        string[] parts = app.Split(',');
        (string name, string? version) = Store.ImageStore.SplitNameVersion(parts[0]);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (version is not null)
        {
            labels["version"] = version;
        }

        foreach (string part in parts.Skip(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"malformed label \"{part}\" in \"{app}\" (want name=value)");
            }

            labels[part[..eq]] = part[(eq + 1)..];
        }

        if (!AppcNames.IsAcIdentifier(name))
        {
            throw new FormatException($"\"{name}\" is not a valid image name (AC Identifier)");
        }

        return new AppReference(name, labels);
    }
}
