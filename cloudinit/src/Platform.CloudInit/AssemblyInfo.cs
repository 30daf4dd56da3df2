using System.Runtime.Versioning;

// coreos-cloudinit configures Linux machines and Linux image trees (file modes, lchown, symlinks).
[assembly: SupportedOSPlatform("linux")]
