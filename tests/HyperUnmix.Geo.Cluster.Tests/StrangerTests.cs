using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Cluster.Tests;

/// <summary>
/// A cluster closed to strangers (issue 21, item 3), with real processes and a real Redis: a worker with another
/// cluster secret never receives an item, a command without the secret is refused, Redis with requirepass refuses
/// whoever lacks the password. The refusals are checked at the workers' ports too, not only in the stranger's own
/// courtesy check.
/// </summary>
[Trait("Category", "Cluster")]
public sealed partial class StrangerTests
{
    private static readonly string[] Fcls = ["--method", "fcls", "-p", "4", "--tile", "16"];

    /// <summary>A scene and its single-machine output, in <paramref name="dir"/>.</summary>
    private static (string Scene, string Reference) Scene(string dir)
    {
        var scene = Path.Combine(dir, "scene.tif");
        var (code, _, err) = LocalCluster.Command(null, "synth", "-o", scene, "--width", "96", "--height", "80", "--bands", "30", "--seed", "7", "--spatial");
        Assert.True(code == 0, err);
        var reference = Path.Combine(dir, "reference", "scene_abundances.tif");
        Directory.CreateDirectory(Path.GetDirectoryName(reference)!);
        (code, _, err) = LocalCluster.Command(null, ["unmix", scene, "-o", reference, .. Fcls]);
        Assert.True(code == 0, err);
        return (scene, reference);
    }

    /// <summary>Another cluster's secret, made by the real command.</summary>
    private static string OtherSecret(LocalCluster c)
    {
        var path = Path.Combine(c.Dir, "other.pfx");
        var (code, output, err) = LocalCluster.Command(null, "cluster", "secret", "create", "--out", path);
        Assert.True(code == 0, err);
        Assert.Matches("SHA-256 fingerprint [0-9A-F]{64}", output);
        return path;
    }

    private static readonly Dictionary<string, string> NoEnvironment = [];

    [Fact]
    public void Stranger_WorkerWithAnotherSecret_NeverReceivesAnItem()
    {
        using var c = new LocalCluster();
        var (scene, reference) = Scene(c.Dir);
        var other = OtherSecret(c);
        // Tiles of 250 ms: the job lasts while the strangers try to join.
        c.StartWorkers(2, environment: new Dictionary<string, string> { ["HYPERUNMIX_TILE_DELAY_MS"] = "250" });

        // A stranger that checks first is told at once, in one line, and exits 5 without joining.
        var polite = c.StartStranger(["--secret", other]);
        // One that goes straight to Orleans (as a hostile process would) is refused by the workers' TLS.
        var hostile = c.StartStranger(["--secret", other], new Dictionary<string, string> { ["HYPERUNMIX_SKIP_TLS_PROBE"] = "1" });
        // And one without any secret (a loopback Redis lets it try in plain TCP).
        var plain = c.StartStranger([], new Dictionary<string, string> { ["HYPERUNMIX_SKIP_TLS_PROBE"] = "1" });

        var outDir = Path.Combine(c.Dir, "out");
        var (code, output, err) = c.Run(["cluster", "submit", scene, "-o", outDir, "--job", "s", .. Fcls, "--wait"]);
        Assert.True(code == 0, output + err);
        Assert.True(File.ReadAllBytes(reference).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(outDir, "scene_abundances.tif"))),
            "the cluster's output differs from the single-machine run's");
        // Every item was completed by the cluster's two workers, none by a stranger.
        Assert.Matches("items completed by 2 worker processes", c.Status("s").Text);

        Assert.True(polite.WaitForExit(TimeSpan.FromSeconds(60)), "the stranger did not stop: " + polite.Output);
        Assert.Equal(5, polite.ExitCode);
        Assert.Contains($"cluster {c.Name} has another cluster secret", polite.Output);
        Assert.Single(polite.Output.Trim().Split('\n'));
        foreach (var s in new[] { polite, hostile, plain })
        {
            Assert.DoesNotContain("worker ready", s.Output);
            Assert.DoesNotMatch(@"worker stopped: [1-9]", s.Output);
        }
        // The cluster's workers are unharmed.
        Assert.All(c.Workers, w => Assert.False(w.HasExited, w.Output));
    }

    [Fact]
    public void Stranger_CommandWithoutTheSecret_IsRefused()
    {
        using var c = new LocalCluster();
        var other = OtherSecret(c);
        var worker = c.StartWorkers(1)[0];

        // The commands: one line, exit 5, saying what is wrong, at once.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (code, _, err) = c.RunAs(NoEnvironment, "cluster", "status", "--job", "x");
        Assert.True(code == 5, $"exit {code}: {err}");
        Assert.Contains($"cluster {c.Name} requires its cluster secret", err);
        Assert.Single(err.Trim().Split('\n'));
        (code, _, err) = c.RunAs(NoEnvironment, "cluster", "status", "--job", "x", "--secret", other);
        Assert.True(code == 5, $"exit {code}: {err}");
        Assert.Contains("has another cluster secret", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        // With the secret (from the environment variable this time): served.
        (code, _, err) = c.RunAs(new Dictionary<string, string> { [ClusterSecret.EnvironmentVariable] = c.Secret! }, "cluster", "status", "--job", "x");
        Assert.True(code == 2 && err.Contains("no job named x"), $"exit {code}: {err}");

        // At the worker's own ports, whatever the client checks: a TLS client without the certificate or with another
        // one is dropped; with the cluster's it is kept (waiting for Orleans' preamble).
        var gateway = int.Parse(GatewayPort().Match(worker.Output).Groups[1].Value);
        var silo = int.Parse(SiloPort().Match(worker.Output).Groups[1].Value);
        using var mine = X509CertificateLoader.LoadPkcs12FromFile(c.Secret!, null, X509KeyStorageFlags.EphemeralKeySet);
        using var theirs = X509CertificateLoader.LoadPkcs12FromFile(other, null, X509KeyStorageFlags.EphemeralKeySet);
        foreach (var port in new[] { gateway, silo })
        {
            Assert.False(KeptOpen(port, null), $"port {port} accepted a TLS client without a certificate");
            Assert.False(KeptOpen(port, theirs), $"port {port} accepted another cluster's certificate");
            Assert.True(KeptOpen(port, mine), $"port {port} refused the cluster's own certificate");
        }
        // A plain TCP client speaking Orleans' protocol gets nothing either: the port expects TLS.
        Assert.False(PlainAnswered(gateway), "the gateway answered a plain TCP client");
    }

    /// <summary>
    /// Completes a TLS handshake as a client (accepting any server certificate) and reports whether the server keeps
    /// the connection for 3 s. A server that refuses the client's certificate closes it (with TLS 1.3 after the
    /// handshake, so a successful handshake alone proves nothing).
    /// </summary>
    private static bool KeptOpen(int port, X509Certificate2? certificate)
    {
        using var tcp = new TcpClient("127.0.0.1", port);
        using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        try
        {
            tls.AuthenticateAsClient(new SslClientAuthenticationOptions
            {
                TargetHost = "hyperunmix",
                ClientCertificates = certificate is null ? null : [certificate],
            });
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException) { return false; }
        tcp.ReceiveTimeout = 3000;
        try { return tls.Read(new byte[16]) > 0; }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock }) { return true; }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException) { return false; }
    }

    /// <summary>Sends an Orleans-like preamble in plain TCP and reports whether anything but a close comes back within 3 s.</summary>
    private static bool PlainAnswered(int port)
    {
        using var tcp = new TcpClient("127.0.0.1", port) { ReceiveTimeout = 3000 };
        var stream = tcp.GetStream();
        stream.Write(new byte[] { 4, 0, 0, 0, 1, 2, 3, 4 });
        try { return stream.Read(new byte[16]) > 0; }
        catch (IOException) { return false; }
    }

    [Fact]
    public void Stranger_WithoutTheRedisPassword_IsRefused()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        using var c = new LocalCluster(redisPassword: password);
        var (scene, reference) = Scene(c.Dir);
        // The cluster itself, with the password from HYPERUNMIX_REDIS_PASSWORD: membership, state and directory in
        // Redis all work, end to end.
        c.StartWorkers(1);
        var outDir = Path.Combine(c.Dir, "out");
        var (code, output, err) = c.Run(["cluster", "submit", scene, "-o", outDir, "--job", "p", .. Fcls, "--wait"]);
        Assert.True(code == 0, output + err);
        Assert.True(File.ReadAllBytes(reference).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(outDir, "scene_abundances.tif"))));
        // password= in the configuration string works too.
        var inline = LocalCluster.Command(c.Dir, "cluster", "status", "--job", "p", "--redis", $"{c.Redis},password={password}", "--cluster", c.Name, "--secret", c.Secret!);
        Assert.True(inline.Code == 0, inline.Err);

        // Without the password: exit 5, one line, for a command and for a worker.
        var secret = new[] { "--secret", c.Secret! };
        (code, _, err) = c.RunAs(NoEnvironment, ["cluster", "status", "--job", "p", .. secret]);
        Assert.True(code == 5, $"exit {code}: {err}");
        Assert.Contains($"Redis at {c.Redis} requires a password", err);
        Assert.Single(err.Trim().Split('\n'));
        var worker = c.StartStranger(secret);
        Assert.True(worker.WaitForExit(TimeSpan.FromSeconds(60)), worker.Output);
        Assert.Equal(5, worker.ExitCode);
        Assert.Contains("requires a password", worker.Output);
        Assert.DoesNotContain("worker ready", worker.Output);
        // With a wrong one, from the environment or in --redis: exit 5, and the password is never printed.
        (code, _, err) = c.RunAs(new Dictionary<string, string> { [ClusterAddress.PasswordVariable] = "wrong-one" }, ["cluster", "status", "--job", "p", .. secret]);
        Assert.True(code == 5, $"exit {code}: {err}");
        Assert.Contains("refused the password (from HYPERUNMIX_REDIS_PASSWORD)", err);
        Assert.DoesNotContain("wrong-one", err);
        var wrong = LocalCluster.Command(c.Dir, "cluster", "status", "--job", "p", "--redis", $"{c.Redis},password=wrong-two", "--cluster", c.Name, "--secret", c.Secret!);
        Assert.True(wrong.Code == 5, $"exit {wrong.Code}: {wrong.Err}");
        Assert.Contains("password=*****", wrong.Err);
        Assert.DoesNotContain("wrong-two", wrong.Err);
        Assert.Single(wrong.Err.Trim().Split('\n'));
    }

    [Fact]
    public void RedisOverTls_WithAPassword_RunsAJob_AndAPlainClientIsRefused()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        using var c = new LocalCluster(redisPassword: password, redisTls: true);
        var (scene, reference) = Scene(c.Dir);
        // ssl=true in --redis, the server's certificate trusted through HYPERUNMIX_REDIS_CA, the password from the
        // environment: membership, job state and directory all over TLS.
        c.StartWorkers(1);
        var outDir = Path.Combine(c.Dir, "out");
        var (code, output, err) = c.Run(["cluster", "submit", scene, "-o", outDir, "--job", "t", .. Fcls, "--wait"]);
        Assert.True(code == 0, output + err);
        Assert.True(File.ReadAllBytes(reference).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(outDir, "scene_abundances.tif"))));
        // Plain TCP to the TLS port, or TLS without trusting the server's certificate: exit 5, one line.
        var plain = LocalCluster.Command(c.Dir, c.Environment, "cluster", "status", "--job", "t", "--redis", $"127.0.0.1:{c.RedisPort}", "--cluster", c.Name, "--secret", c.Secret!);
        Assert.True(plain.Code == 5, $"exit {plain.Code}: {plain.Err}");
        Assert.Single(plain.Err.Trim().Split('\n'));
        var untrusted = LocalCluster.Command(c.Dir, new Dictionary<string, string> { [ClusterAddress.PasswordVariable] = password },
            "cluster", "status", "--job", "t", "--redis", c.Redis, "--cluster", c.Name, "--secret", c.Secret!);
        Assert.True(untrusted.Code == 5, $"exit {untrusted.Code}: {untrusted.Err}");
        Assert.Single(untrusted.Err.Trim().Split('\n'));
    }

    [Fact]
    public void Secret_IsCreatedOwnerOnly_NeverOverwritten_AndRequiredOffThisMachine()
    {
        var dir = Directory.CreateTempSubdirectory("hu-secret-").FullName;
        try
        {
            var path = Path.Combine(dir, "cluster.pfx");
            var (code, output, err) = LocalCluster.Command(null, "cluster", "secret", "create", "--out", path);
            Assert.True(code == 0, err);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            using (var cert = X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.EphemeralKeySet))
            {
                Assert.True(cert.HasPrivateKey);
                Assert.Contains(ClusterSecret.Fingerprint(cert), output);
            }
            var before = File.ReadAllBytes(path);
            (code, _, err) = LocalCluster.Command(null, "cluster", "secret", "create", "--out", path);
            Assert.Equal(4, code);
            Assert.Contains("never overwritten", err);
            Assert.Equal(before, File.ReadAllBytes(path));

            // A Redis elsewhere without a secret: refused before anything connects, unless --insecure.
            (code, _, err) = LocalCluster.Command(null, "worker", "--redis", "192.0.2.1:6379", "--cluster", "x");
            Assert.Equal(2, code);
            Assert.Contains("give --secret FILE", err);
            (code, _, err) = LocalCluster.Command(null, "cluster", "status", "--job", "j", "--redis", "192.0.2.1:6379");
            Assert.Equal(2, code);
            Assert.Contains("--insecure", err);
            // Not a secret: named, exit 2.
            var bogus = Path.Combine(dir, "bogus.pfx");
            File.WriteAllText(bogus, "not a certificate");
            (code, _, err) = LocalCluster.Command(null, "cluster", "status", "--job", "j", "--redis", "192.0.2.1:6379", "--secret", bogus);
            Assert.Equal(2, code);
            Assert.Contains($"{bogus}: not a cluster secret", err);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Rotation_WorkersPresentingTheOldAndTheNewSecret_FormOneCluster()
    {
        // The middle of a rolling rotation (docs/cluster.md): one worker still presents the old secret, one already
        // the new one, both accept both; a command holding both is served, and the two share the job's items.
        using var c = new LocalCluster(secret: false);
        var (scene, reference) = Scene(c.Dir);
        var old = OtherSecret(c);
        var fresh = Path.Combine(c.Dir, "new.pfx");
        Assert.Equal(0, LocalCluster.Command(null, "cluster", "secret", "create", "--out", fresh).Code);
        var slow = new Dictionary<string, string> { ["HYPERUNMIX_TILE_DELAY_MS"] = "250" };
        var presentsOld = c.StartStranger(["--secret", old, "--secret", fresh], slow);
        presentsOld.WaitReady(TimeSpan.FromMinutes(3));
        var presentsNew = c.StartStranger(["--secret", fresh, "--secret", old], slow);
        presentsNew.WaitReady(TimeSpan.FromMinutes(3));
        var both = new[] { "--secret", fresh, "--secret", old };
        var outDir = Path.Combine(c.Dir, "out");
        var (code, output, err) = c.RunAs(NoEnvironment, ["cluster", "submit", scene, "-o", outDir, "--job", "r", .. Fcls, "--wait", .. both]);
        Assert.True(code == 0, output + err);
        Assert.True(File.ReadAllBytes(reference).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(outDir, "scene_abundances.tif"))));
        (code, output, err) = c.RunAs(NoEnvironment, ["cluster", "status", "--job", "r", .. both]);
        Assert.True(code == 0, err);
        Assert.Contains("items completed by 2 worker processes", output);
    }

    [GeneratedRegex(@"gateway S127\.0\.0\.1:(\d+):")]
    private static partial Regex GatewayPort();
    [GeneratedRegex(@"silo S127\.0\.0\.1:(\d+):")]
    private static partial Regex SiloPort();
}
