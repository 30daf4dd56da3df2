using System.Runtime.InteropServices;

namespace Platform.Linux;

/// <summary>A failed system call or kernel request, with the errno and what was being done.</summary>
public sealed class LinuxException : Exception
{
    public LinuxException(string operation, int errno)
        : base($"{operation}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
    }

    public LinuxException()
    {
        Operation = string.Empty;
    }

    public LinuxException(string message)
        : base(message)
    {
        Operation = string.Empty;
    }

    public LinuxException(string message, Exception innerException)
        : base(message, innerException)
    {
        Operation = string.Empty;
    }

    /// <summary>What was being done, e.g. <c>RTM_NEWLINK flannel.1</c>.</summary>
    public string Operation { get; }

    /// <summary>The errno the kernel answered (positive), 0 when not from the kernel.</summary>
    public int Errno { get; }
}
