using System.Reflection;
using Platform.Flannel.Cni;
using Platform.Flannel.Cni.Cni;

// The flannel CNI meta-plugin: one CNI operation per process (CNI_COMMAND), config on stdin,
// result or error JSON on stdout.
string version = typeof(FlannelPlugin).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
string about = $"CNI Plugin flannel version {version} (linux/{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()})";
using Stream stdin = Console.OpenStandardInput();
using var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
using var stderr = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
var plugin = new FlannelPlugin(new DelegateExec(), stderr);
return CniDispatcher.Run(plugin, Environment.GetEnvironmentVariable, stdin, stdout, stderr, about);
