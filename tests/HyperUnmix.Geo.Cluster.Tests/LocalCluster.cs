using System.Diagnostics;
using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Cluster.Tests;

/// <summary>
/// A real cluster on loopback: a redis-server on a free port and worker processes (the real <c>hyperunmix worker</c>),
/// all children of the test, stopped (SIGKILL) when it ends. Each instance uses its own cluster name and, unless told
/// otherwise, its own cluster secret (TLS between workers and commands) and no Redis password.
/// </summary>
public sealed partial class LocalCluster : IDisposable
{
    private readonly Process _redis;
    private readonly List<WorkerProcess> _workers = [];
    public int RedisPort { get; }
    public string Redis => $"127.0.0.1:{RedisPort}" + (RedisCa is null ? "" : ",ssl=true");
    /// <summary>With Redis over TLS: its self-signed certificate (PEM), given in HYPERUNMIX_REDIS_CA.</summary>
    public string? RedisCa { get; }
    public string Name { get; } = "t" + Guid.NewGuid().ToString("N")[..8];
    public string Dir { get; } = Directory.CreateTempSubdirectory("hu-cluster-").FullName;
    public IReadOnlyList<WorkerProcess> Workers => _workers;
    /// <summary>The cluster's secret (a PFX made by the real code), or null for a plain cluster.</summary>
    public string? Secret { get; }
    /// <summary>Redis' requirepass, given to workers and commands in HYPERUNMIX_REDIS_PASSWORD; null: none.</summary>
    public string? RedisPassword { get; }
    /// <summary>What every worker and command of this cluster gets in its environment (the Redis password).</summary>
    public IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            var e = new Dictionary<string, string>();
            if (RedisPassword is not null) e[ClusterAddress.PasswordVariable] = RedisPassword;
            if (RedisCa is not null) e[ClusterAddress.CaVariable] = RedisCa;
            return e;
        }
    }

    public LocalCluster(bool secret = true, string? redisPassword = null, bool redisTls = false)
    {
        if (secret)
        {
            Secret = Path.Combine(Dir, "cluster.pfx");
            ClusterSecret.Create(Secret, "test cluster " + Name);
        }
        RedisPassword = redisPassword;
        RedisPort = ClusterSetup.FreePort();
        var psi = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--port", RedisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) psi.ArgumentList.Add(a);
        if (redisPassword is not null) { psi.ArgumentList.Add("--requirepass"); psi.ArgumentList.Add(redisPassword); }
        if (redisTls)
        {
            // Redis' own certificate for 127.0.0.1, self-signed: clients trust it through HYPERUNMIX_REDIS_CA.
            using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
            RedisCa = Path.Combine(Dir, "redis-cert.pem");
            File.WriteAllText(RedisCa, cert.ExportCertificatePem());
            var keyFile = Path.Combine(Dir, "redis-key.pem");
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
            // The plain port closed, the TLS one on the free port.
            psi.ArgumentList[psi.ArgumentList.IndexOf("--port") + 1] = "0";
            foreach (var a in new[] { "--tls-port", RedisPort.ToString(), "--tls-cert-file", RedisCa, "--tls-key-file", keyFile, "--tls-auth-clients", "no" }) psi.ArgumentList.Add(a);
        }
        _redis = Process.Start(psi)!;
        _redis.BeginOutputReadLine();
        _redis.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var c = new System.Net.Sockets.TcpClient("127.0.0.1", RedisPort);
                break;
            }
            catch (System.Net.Sockets.SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                Thread.Sleep(100);
            }
        }
    }

    public static string Hyperunmix => Path.Combine(AppContext.BaseDirectory, "hyperunmix.dll");

    /// <summary>Starts <paramref name="count"/> workers and waits until each has joined.</summary>
    public IReadOnlyList<WorkerProcess> StartWorkers(int count, int threads = 1, IReadOnlyDictionary<string, string>? environment = null)
    {
        var started = Enumerable.Range(0, count).Select(_ => new WorkerProcess(this, threads, Merge(Environment, environment), SecretArguments)).ToList();
        _workers.AddRange(started);
        // A worker started right after others were killed waits (up to a minute) until they are declared dead; under load, longer.
        foreach (var w in started) w.WaitReady(TimeSpan.FromMinutes(3));
        return started;
    }

    /// <summary>
    /// Starts a worker that is not one of this cluster's (its own arguments after --redis and --cluster, e.g. another
    /// --secret, and its own environment), without waiting for it to join. It is killed with the cluster.
    /// </summary>
    public WorkerProcess StartStranger(string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var w = new WorkerProcess(this, 1, environment ?? new Dictionary<string, string>(), arguments);
        _strangers.Add(w);
        return w;
    }

    private readonly List<WorkerProcess> _strangers = [];

    private string[] SecretArguments => Secret is null ? [] : ["--secret", Secret];

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string>? b)
    {
        var all = new Dictionary<string, string>(a);
        foreach (var (k, v) in b ?? new Dictionary<string, string>()) all[k] = v;
        return all;
    }

    /// <summary>Runs the real command (a cluster command gets this cluster's --redis, --cluster, --secret and Redis password).</summary>
    public (int Code, string Out, string Err) Run(params string[] args) =>
        args[0] == "cluster" ? Command(Dir, Environment, [.. args, "--redis", Redis, "--cluster", Name, .. SecretArguments]) : Command(Dir, args);

    /// <summary>Runs a cluster command with this cluster's --redis and --cluster only: the secret and password are the caller's.</summary>
    public (int Code, string Out, string Err) RunAs(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Command(Dir, environment, [.. args, "--redis", Redis, "--cluster", Name]);

    /// <summary>Runs the real command with exactly these arguments.</summary>
    public static (int Code, string Out, string Err) Command(string? workingDirectory, params string[] args) => Command(workingDirectory, null, args);

    /// <summary>Runs the real command with exactly these arguments and these environment variables.</summary>
    public static (int Code, string Out, string Err) Command(string? workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        // The developer's own settings must not leak into a test cluster (null removes a variable).
        var env = new Dictionary<string, string?> { [ClusterSecret.EnvironmentVariable] = null, [ClusterAddress.PasswordVariable] = null };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) env[k] = v;
        return Processes.Run("dotnet", [Hyperunmix, .. args], env, workingDirectory, TimeSpan.FromMinutes(4));
    }

    /// <summary>Job status fields parsed from `cluster status` (tiles done/total, duplicates, requeued, activations).</summary>
    public JobCounts Status(string job)
    {
        var (code, output, err) = Run("cluster", "status", "--job", job);
        Assert.True(code == 0, err);
        var m = StatusLine().Match(output);
        Assert.True(m.Success, output);
        var coordinator = CoordinatorLine().Match(output);
        return new JobCounts(m.Groups[1].Value, int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value), int.Parse(m.Groups[5].Value),
            int.Parse(m.Groups[6].Value), int.Parse(m.Groups[7].Value), coordinator.Success ? coordinator.Groups[1].Value : null, output);
    }

    /// <summary>Polls the job until <paramref name="until"/> holds.</summary>
    public JobCounts WaitFor(string job, Func<JobCounts, bool> until, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var s = Status(job);
            if (until(s)) return s;
            if (clock.Elapsed > timeout) throw new TimeoutException($"job {job} never reached the expected state: {s.Text}");
            Thread.Sleep(200);
        }
    }

    [GeneratedRegex(@"job \S+: (\w+); scenes (\d+)/(\d+) done; tiles (\d+)/(\d+); (\d+) duplicates dropped, (\d+) requeued")]
    private static partial Regex StatusLine();
    [GeneratedRegex(@"coordinator on silo (\S+)")]
    private static partial Regex CoordinatorLine();

    public void Dispose()
    {
        foreach (var w in _workers.Concat(_strangers)) w.Kill();
        try { _redis.Kill(true); _redis.WaitForExit(5000); } catch (InvalidOperationException) { }
        _redis.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

public sealed record JobCounts(string State, int ScenesDone, int Scenes, int TilesDone, int Tiles, int Duplicates, int Requeued, string? Coordinator, string Text);

/// <summary>One <c>hyperunmix worker</c> process.</summary>
public sealed class WorkerProcess
{
    private readonly Process _p;
    private readonly System.Text.StringBuilder _out = new();
    private readonly ManualResetEventSlim _ready = new();

    public WorkerProcess(LocalCluster cluster, int threads, IReadOnlyDictionary<string, string> environment, string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cluster.Dir };
        psi.Environment.Remove(ClusterSecret.EnvironmentVariable);
        psi.Environment.Remove(ClusterAddress.PasswordVariable);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        psi.ArgumentList.Add(LocalCluster.Hyperunmix);
        foreach (var a in new[] { "worker", "--redis", cluster.Redis, "--cluster", cluster.Name, "--threads", threads.ToString() }.Concat(arguments)) psi.ArgumentList.Add(a);
        _p = Process.Start(psi)!;
        _p.OutputDataReceived += (_, e) => Line(e.Data);
        _p.ErrorDataReceived += (_, e) => Line(e.Data);
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    private void Line(string? line)
    {
        if (line is null) return;
        lock (_out) _out.AppendLine(line);
        if (line.StartsWith("worker ready:", StringComparison.Ordinal))
        {
            Silo = line.Split("silo ")[1].Split(',')[0];
            _ready.Set();
        }
    }

    public int Pid => _p.Id;
    /// <summary>The silo address the worker printed when it joined.</summary>
    public string? Silo { get; private set; }
    public string Output { get { lock (_out) return _out.ToString(); } }
    public bool HasExited => _p.HasExited;
    public int ExitCode => _p.ExitCode;

    public void WaitReady(TimeSpan timeout)
    {
        // A worker that died while joining is reported at once, not after the whole timeout.
        var clock = Stopwatch.StartNew();
        while (!_ready.Wait(TimeSpan.FromMilliseconds(500)))
            if (_p.HasExited || clock.Elapsed > timeout) throw new TimeoutException($"worker {Pid} did not start{(_p.HasExited ? $" (exit {_p.ExitCode})" : "")}: {Output}");
    }

    /// <summary>SIGKILL: no chance to clean up, like a machine that dies.</summary>
    public void Kill()
    {
        try { if (!_p.HasExited) { _p.Kill(true); _p.WaitForExit(10000); } } catch (InvalidOperationException) { }
    }

    /// <summary>SIGTERM: the worker drains.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", Pid.ToString()])!.WaitForExit();

    /// <summary>
    /// Waits for the process to exit and then for its last output lines: with asynchronous output events, the timed
    /// WaitForExit can return before they have been delivered (a drained worker's "worker draining" line was missing
    /// once, in CI), and only the parameterless overload waits for the end of the stream.
    /// </summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout)) return false;
        _p.WaitForExit();
        return true;
    }
}
