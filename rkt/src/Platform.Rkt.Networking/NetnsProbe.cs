using Platform.Linux;
using Platform.Linux.Netns;

namespace Platform.Rkt.Networking;

/// <summary>Whether a recorded network namespace path still refers to a namespace.</summary>
internal static class NetnsProbe
{
    /// <summary>
    /// True when <paramref name="path"/> is a namespace file (a <c>/proc/…/ns/net</c> link, or a bind mount of
    /// a namespace as <c>ip netns add</c> and rkt make). A leftover empty file is not a namespace: plugins
    /// would fail on it, so DEL then runs with an empty CNI_NETNS as the spec allows.
    /// </summary>
    /// <remarks>
    /// One stat, not a scan of <c>/proc/self/mountinfo</c>: a scan read while other pods mount or unmount
    /// can skip entries, and a missed entry made DEL run without the namespace, leaving the pod's host-side
    /// veth to the kernel's asynchronous namespace cleanup.
    /// </remarks>
    public static bool IsAlive(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        try
        {
            return NetworkNamespace.IsNamespaceFile(path);
        }
        catch (LinuxException)
        {
            return true; // Cannot tell: let the plugins decide.
        }
    }
}
