using Platform.Linux.Processes;

namespace Platform.Rkt.Stage1.Default;

/// <summary>
/// Copies one app stream (a pipe) to stage1's own stdout or stderr and appends it to the app's log file
/// (<c>$pod/logs/$app.log</c>, both streams in arrival order). Ends at end of file, when every writer —
/// the app and anything it started — has exited.
/// </summary>
internal sealed class LogPump
{
    private readonly Thread _thread;

    public LogPump(int readFd, int forwardFd, FileStream log, Lock logLock)
    {
        _thread = new Thread(() => Pump(readFd, forwardFd, log, logLock)) { IsBackground = true, Name = "log-pump" };
        _thread.UnsafeStart();
    }

    public void Join() => _thread.Join();

    private static void Pump(int readFd, int forwardFd, FileStream log, Lock logLock)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int n = ProcessSpawner.Read(readFd, buffer);
                if (n == 0)
                {
                    break;
                }

                lock (logLock)
                {
                    log.Write(buffer, 0, n);
                    log.Flush();
                }

                try
                {
                    ProcessSpawner.Write(forwardFd, buffer.AsSpan(0, n));
                }
                catch (Platform.Linux.LinuxException)
                {
                    // stage0's terminal went away (EPIPE): keep logging.
                }
            }
        }
        finally
        {
            ProcessSpawner.Close(readFd);
        }
    }
}
