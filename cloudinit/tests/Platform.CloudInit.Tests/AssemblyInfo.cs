using System.Runtime.Versioning;

// The library under test targets Linux (file modes, lchown, symlinks).
[assembly: SupportedOSPlatform("linux")]
