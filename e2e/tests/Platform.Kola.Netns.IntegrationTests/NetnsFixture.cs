using System.Reflection;

namespace Platform.Kola.Netns.IntegrationTests;

/// <summary>Where the published binaries are, and a state root of the test's own.</summary>
internal static class NetnsFixture
{
    public static string RepositoryRoot { get; } = typeof(NetnsFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string BinDirectory => Path.Combine(RepositoryRoot, "out", "bin");

    public static string Kola => Path.Combine(BinDirectory, "kola");

    /// <summary>A fresh state root outside every directory machines mount privately.</summary>
    public static string NewStateRoot() => Path.Combine("/var/tmp", "kola-it-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Why the test cannot run here (binaries not published), or null.</summary>
    public static string? Missing() =>
        ((string[])["kola", "etcd", "coreos-cloudinit", "flanneld", "rkt"]).Select(b => Path.Combine(BinDirectory, b)).FirstOrDefault(p => !File.Exists(p)) is { } missing
            ? $"{missing} is not published: run ./platform build (./platform test does)"
            : null;

    /// <summary>The kola namespaces now present.</summary>
    public static string[] KolaNamespaces(string flight) => Directory.Exists("/run/netns")
        ? [.. Directory.GetFiles("/run/netns", $"kola-{flight}*").Select(Path.GetFileName).OfType<string>()]
        : [];
}
