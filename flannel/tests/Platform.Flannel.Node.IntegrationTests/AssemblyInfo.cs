// Namespaces, iptables and CNI plugins: these tests only exist on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
