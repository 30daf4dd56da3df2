namespace Platform.Linux.Tests;

public sealed class LinuxExceptionTests
{
    [Fact]
    public void MessageNamesTheOperationAndTheErrno()
    {
        var e = new LinuxException("RTM_NEWLINK flannel.1", 17);

        Assert.Equal(17, e.Errno);
        Assert.Equal("RTM_NEWLINK flannel.1: File exists (errno 17)", e.Message);
    }
}
