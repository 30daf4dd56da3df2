using System.Runtime.Versioning;

// rkt is a Linux runtime: pod states are flock(2)s on directories.
[assembly: SupportedOSPlatform("linux")]
