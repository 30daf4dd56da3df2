using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using System.Text;
using Platform.CloudInit.Apply;
using Platform.CloudInit.Config;
using Platform.CloudInit.Datasources;
using Platform.CloudInit.Substitution;
using Platform.CloudInit.Validation;

[assembly: SupportedOSPlatform("linux")]

// Usage: Platform.CloudInit.Benchmarks [iterations] [output.yml] [base-directory]
// Builds a cloud-config of about 2,000 lines, then times validate + substitute + parse + apply into
// a fresh temporary root per iteration. The first iterations warm the JIT and are not counted.
int iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 30;
string userData = Generate(2000);
if (args.Length > 1)
{
    File.WriteAllText(args[1], userData);
}

// The roots live under base-directory: /dev/shm (tmpfs) by default, so the figure is ours rather than
// ext4's inode allocator, which dominates when ~600 files are created and deleted per iteration.
string baseDirectory = args.Length > 2 ? args[2] : (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
int lines = userData.Count(c => c == '\n');
const int Warmup = 10;
var validateMs = new List<double>();
var applyMs = new List<double>();
var totalMs = new List<double>();
int entries = 0;
int actions = 0;
for (int i = 0; i < Warmup + iterations; i++)
{
    string root = Path.Combine(baseDirectory, "cloudinit-bench-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(root);
    Directory.CreateDirectory(Path.Combine(root, "etc"));
    File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/bash\ncore:x:500:500::/home/core:/bin/bash\n");
    File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\ncore:x:500:\nsudo:x:27:\ndocker:x:233:\n");
    try
    {
        // Collect the previous iteration's garbage outside the measurement.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var total = Stopwatch.StartNew();
        ValidationReport report = CloudConfigValidator.Validate(userData);
        double validated = total.Elapsed.TotalMilliseconds;

        Substitutions substitutions = Substitutions.From(new Metadata { PrivateIPv4 = IPAddress.Parse("10.0.0.5"), PublicIPv4 = IPAddress.Parse("203.0.113.7") }, _ => null);
        CloudConfigParseResult parsed = CloudConfigParser.Parse(substitutions.Apply(userData));
        SystemEffects effects = SystemEffects.ForRoot(root);
        ICloudConfigApplier applier = CloudConfigApplier.Create(new ApplyOptions
        {
            Root = root,
            Systemctl = effects.Systemctl,
            Users = effects.Users,
            Hostname = effects.Hostname,
            Scripts = effects.Scripts,
        });
        IReadOnlyList<ApplyAction> done = await applier.ApplyAsync(parsed.Config, substitutions, CancellationToken.None);
        total.Stop();
        if (i >= Warmup)
        {
            validateMs.Add(validated);
            applyMs.Add(total.Elapsed.TotalMilliseconds - validated);
            totalMs.Add(total.Elapsed.TotalMilliseconds);
        }

        entries = report.Entries.Count;
        actions = done.Count;
    }
    finally
    {
        Directory.Delete(root, recursive: true);
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreos-cloudinit (Platform): {lines}-line cloud-config, {entries} report entries, {actions} actions, {iterations} runs after {Warmup} warm-up, roots in {baseDirectory}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  validate        median {Median(validateMs):F2} ms   p90 {P90(validateMs):F2} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  parse + apply   median {Median(applyMs):F2} ms   p90 {P90(applyMs):F2} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  total           median {Median(totalMs):F2} ms   p90 {P90(totalMs):F2} ms   (target < 50 ms)"));

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

static double P90(List<double> values) => values.Order().ElementAt(Math.Min(values.Count - 1, (int)(values.Count * 0.9)));

// About 2,000 lines mixing every section: users, write_files (plain and base64), units with
// drop-ins, etcd2, flannel, locksmith, update.
static string Generate(int targetLines)
{
    var sb = new StringBuilder("#cloud-config\nhostname: bench\nmanage_etc_hosts: localhost\nssh_authorized_keys:\n  - ssh-ed25519 AAAAbench core@bench\n");
    sb.Append("coreos:\n  etcd2:\n    name: bench\n    advertise-client-urls: http://$private_ipv4:2379\n    listen-client-urls: http://0.0.0.0:2379\n    initial-advertise-peer-urls: http://$private_ipv4:2380\n    listen-peer-urls: http://$private_ipv4:2380\n");
    sb.Append("  flannel:\n    etcd_endpoints: http://10.0.0.1:2379\n    interface: $public_ipv4\n  locksmith:\n    window_start: Thu 04:00\n    window_length: 1h\n  update:\n    reboot-strategy: etcd-lock\n  units:\n");
    int unit = 0;
    while (Count(sb) < targetLines / 2)
    {
        sb.Append(CultureInfo.InvariantCulture, $"    - name: svc{unit}.service\n      command: start\n      content: |\n        [Unit]\n        Description=service {unit}\n        [Service]\n        ExecStart=/usr/bin/sleep infinity\n      drop-ins:\n        - name: 10-env.conf\n          content: |\n            [Service]\n            Environment=N={unit}\n");
        unit++;
    }

    sb.Append("users:\n");
    for (int u = 0; u < 20; u++)
    {
        sb.Append(CultureInfo.InvariantCulture, $"  - name: user{u}\n    groups: [sudo, docker]\n    ssh_authorized_keys:\n      - ssh-ed25519 AAAAuser{u}\n");
    }

    sb.Append("write_files:\n");
    int file = 0;
    while (Count(sb) < targetLines - 6)
    {
        if (file % 2 == 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - path: /etc/bench/file{file}.conf\n    permissions: '0644'\n    content: |\n      key={file}\n      addr=$private_ipv4\n");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - path: /etc/bench/file{file}.b64\n    encoding: b64\n    content: aGVsbG8K\n");
        }
        file++;
    }

    return sb.ToString();
}

static int Count(StringBuilder sb)
{
    int n = 0;
    foreach (ReadOnlyMemory<char> chunk in sb.GetChunks())
    {
        n += chunk.Span.Count('\n');
    }

    return n;
}
