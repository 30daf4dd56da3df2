using Platform.Etcd.Storage.Mvcc;
using Platform.Etcd.Storage.Tests.Mvcc;

namespace Platform.Etcd.Storage.Tests;

/// <summary>
/// The entry point of this assembly when the crash tests start it as a child process:
/// <c>crash-writer DB_PATH</c> applies <see cref="CrashWorkload"/> entries 1, 2, ... forever with
/// frequent background commits, printing "progress N" after every 500 entries (N = entries
/// applied, C = committed consistent index), until it is killed. The test runner never calls it.
/// </summary>
internal static class CrashWriterProgram
{
    public static int Main(string[] args)
    {
        if (args is not ["crash-writer", string path])
        {
            Console.Error.WriteLine("usage: crash-writer DB_PATH");
            return 2;
        }

        // Commits every few milliseconds, so a kill lands before, during or after one.
        var store = (MvccStore)MvccStores.Open(path, new MvccOptions
        {
            BackendBatchInterval = TimeSpan.FromMilliseconds(2),
            BackendBatchLimit = 300,
        });
        for (ulong i = 1; ; i++)
        {
            CrashWorkload.ApplyEntry(store, i);
            if (i % 500 == 0)
            {
                Console.Out.WriteLine($"progress {i} {store.CommittedConsistentIndex.Index} {store.CommitCount}");
                Console.Out.Flush();
            }
        }
    }
}
