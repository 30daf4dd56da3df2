using System.Runtime.Versioning;

// Machines are Linux namespaces.
[assembly: SupportedOSPlatform("linux")]
