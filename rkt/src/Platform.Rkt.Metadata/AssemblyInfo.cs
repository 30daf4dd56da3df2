using System.Runtime.Versioning;

// rkt is a Linux runtime: the registration socket is a Unix socket with Unix permissions.
[assembly: SupportedOSPlatform("linux")]
