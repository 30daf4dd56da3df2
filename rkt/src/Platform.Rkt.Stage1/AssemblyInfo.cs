using System.Runtime.Versioning;

// Stage1 is Linux only: namespaces, mounts, cgroups, capabilities.
[assembly: SupportedOSPlatform("linux")]
