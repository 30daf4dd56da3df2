using System.Runtime.Versioning;

// kola drives Linux namespaces.
[assembly: SupportedOSPlatform("linux")]
