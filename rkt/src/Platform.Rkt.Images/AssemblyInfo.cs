using System.Runtime.Versioning;

// rkt is a Linux runtime: flock(2), lchown(2), Unix modes throughout.
[assembly: SupportedOSPlatform("linux")]
