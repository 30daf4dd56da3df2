using System.Runtime.Versioning;

// Pods are Linux only: flock, namespaces, mounts, cgroups.
[assembly: SupportedOSPlatform("linux")]
