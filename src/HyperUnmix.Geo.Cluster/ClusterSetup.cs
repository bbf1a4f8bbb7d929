using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Connections.Security;
using StackExchange.Redis;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// Where a cluster lives: its Redis (membership, grain state, grain directory; a StackExchange.Redis configuration
/// string such as <c>host:6379,password=...,ssl=true</c>) and its name, and the cluster secret this process holds
/// (null: no TLS, for loopback or explicitly insecure setups).
/// </summary>
internal sealed partial record ClusterAddress(string Redis, string Name)
{
    /// <summary>The cluster's TLS certificate(s); null: plain TCP between workers and clients.</summary>
    public ClusterSecret? Secret { get; init; }

    /// <summary>Environment variable with the Redis password, used when the configuration string has no password=.</summary>
    public const string PasswordVariable = "HYPERUNMIX_REDIS_PASSWORD";

    /// <summary>Environment variable with a PEM/DER file of the CA (or self-signed certificate) that Redis' TLS certificate must chain to.</summary>
    public const string CaVariable = "HYPERUNMIX_REDIS_CA";

    /// <summary>The Redis configuration string for messages: the password replaced by *****.</summary>
    public string Display => PasswordInString().Replace(Redis, "$1*****");

    /// <summary>The Redis host of the configuration string (for the loopback check).</summary>
    public string Host
    {
        get
        {
            var first = Redis.Split(',')[0].Trim();
            if (first.StartsWith('[')) return first[1..Math.Max(1, first.IndexOf(']'))];
            return first.Count(c => c == ':') == 1 ? first[..first.IndexOf(':')] : first;
        }
    }

    /// <summary>Whether Redis is on this machine (127.0.0.1, ::1, localhost): then the cluster is too, and may run without a secret.</summary>
    public bool IsLoopback => Host is "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));

    [System.Text.RegularExpressions.GeneratedRegex("((?:^|,)\\s*password\\s*=)[^,]*", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex PasswordInString();

    /// <summary>Why <paramref name="redis"/> is not a Redis address (HOST:PORT, optionally followed by ,options), or null.</summary>
    public static string? Problem(string redis)
    {
        if (string.IsNullOrWhiteSpace(redis)) return "the Redis address is empty (expected HOST:PORT)";
        var first = redis.Split(',')[0].Trim();
        var colon = first.LastIndexOf(':');
        if (colon > 0 && !(int.TryParse(first[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536))
            return $"'{redis}' is not HOST:PORT: the port '{first[(colon + 1)..]}' is not a number from 1 to 65535";
        try
        {
            if (ConfigurationOptions.Parse(redis).EndPoints.Count == 0) return $"'{redis}' names no Redis endpoint (expected HOST:PORT)";
        }
        catch (ArgumentException e) { return $"'{redis}' is not a Redis address ({e.Message.Split(" (Parameter")[0]})"; }
        return null;
    }

    public ConfigurationOptions RedisOptions()
    {
        var c = ConfigurationOptions.Parse(Redis);
        // Preferred to password= in --redis: a command line is visible to every user of the machine (ps).
        if (string.IsNullOrEmpty(c.Password) && Environment.GetEnvironmentVariable(PasswordVariable) is { Length: > 0 } password) c.Password = password;
        // A Redis with ssl=true whose certificate a private CA (or itself) signed: trust that CA for Redis only,
        // rather than adding it to the machine's store.
        if (Environment.GetEnvironmentVariable(CaVariable) is { Length: > 0 } ca)
        {
            try { c.TrustIssuer(ca); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new ClusterSecretException($"{Path.GetFullPath(ca)}: cannot read the Redis CA certificate (${CaVariable}): {e.Message}");
            }
        }
        c.AbortOnConnectFail = false;
        c.ConnectTimeout = 3000;
        return c;
    }
}

/// <summary>How workers (silos) and clients join a cluster: Redis for everything, fast failure detection.</summary>
internal static class ClusterSetup
{
    public const string Storage = "hyperunmix";
    public const string Directory = "hyperunmix";
    public const string Registry = "jobs";

    /// <summary>Configures a worker's silo. Ports 0 pick free ones.</summary>
    public static void ConfigureSilo(ISiloBuilder silo, ClusterAddress cluster, IPAddress advertise, int siloPort, int gatewayPort)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.Name;
            o.ServiceId = "hyperunmix-" + cluster.Name;
        });
        silo.UseRedisClustering(o => o.ConfigurationOptions = cluster.RedisOptions());
        silo.AddRedisGrainStorage(Storage, o => o.ConfigurationOptions = cluster.RedisOptions());
        silo.AddRedisGrainDirectory(Directory, o => o.ConfigurationOptions = cluster.RedisOptions());
        // Jobs' progress, a field per scene (JobGrain).
        silo.Services.AddSingleton(_ => new ProgressStore(cluster));
        silo.ConfigureEndpoints(advertise, siloPort == 0 ? FreePort() : siloPort, gatewayPort == 0 ? FreePort() : gatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertise));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // A killed worker is declared dead after two missed 2-second probes (a few seconds; 1 s probes were measured
            // at ~1-1.5 s on loopback but risk false deaths on a loaded machine), and
            // its leases are handed out again. The defaults take tens of seconds.
            o.ProbeTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedProbesLimit = 2;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            // A silo that has not written "I am alive" for 2 x 2 s is not waited for by a joining one: after every
            // worker was killed, new workers must not try to reach the dead ones for long.
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            o.NumMissedTableIAmAliveLimit = 2;
            o.DefunctSiloExpiration = TimeSpan.FromHours(1);
            // A silo still joining after this long is evicted by the others (one killed while joining leaves an entry).
            // 10 s was too short on a loaded machine: a worker started right after every worker was killed spends
            // seconds starting .NET and validating connectivity with the dead silos, and was evicted (exit 134) while
            // joining (1 of 8 runs of the kill-everything test, a busy loop on each of 2 cores).
            o.MaxJoinAttemptTime = TimeSpan.FromSeconds(60);
            o.EvictWhenMaxJoinAttemptTimeExceeded = true;
        });
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
        if (cluster.Secret is { } secret) silo.UseTls(secret.Certificate, o => ConfigureTls(o, secret));
    }

    /// <summary>
    /// Mutual TLS with the cluster's certificate: every connection (silo to silo, client to gateway) presents it and
    /// requires the peer's, which must be an accepted cluster certificate by fingerprint. Chain errors are expected
    /// (self-signed) and ignored: the fingerprint is the identity, and the handshake proves the peer holds the key.
    /// </summary>
    private static void ConfigureTls(TlsOptions o, ClusterSecret secret)
    {
        o.LocalCertificate = secret.Certificate;
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.RemoteCertificateValidation = (certificate, _, _) => secret.Accepts(certificate);
        o.SslProtocols = System.Security.Authentication.SslProtocols.Tls13 | System.Security.Authentication.SslProtocols.Tls12;
    }

    public static void ConfigureClient(IClientBuilder client, ClusterAddress cluster)
    {
        client.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.Name;
            o.ServiceId = "hyperunmix-" + cluster.Name;
        });
        client.UseRedisClustering(o => o.ConfigurationOptions = cluster.RedisOptions());
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
        if (cluster.Secret is { } secret) client.UseTls(secret.Certificate, o => ConfigureTls(o, secret));
    }

    /// <summary>Logs to standard error, warnings and above (Orleans is chatty), or everything with --verbose.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, bool verbose)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        if (!verbose)
        {
            // Expected while a worker dies and its grains move: reported by the coordinator's own lines.
            logging.AddFilter("Orleans", LogLevel.Error);
            logging.AddFilter("Microsoft", LogLevel.Error);
            // The host's "Hosting failed to start" with a stack trace: the command's own one-line error says it.
            logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        }
    }

    /// <summary>The address other machines reach this one at: loopback when Redis is local, else the first routable IPv4.</summary>
    public static IPAddress AdvertiseAddress(string redis)
    {
        if (new ClusterAddress(redis, "").IsLoopback) return IPAddress.Loopback;
        return Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
               ?? IPAddress.Loopback;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Fails fast with a clear message when Redis cannot be reached.</summary>
    public static void CheckRedis(ClusterAddress cluster)
    {
        try
        {
            var c = cluster.RedisOptions();
            c.AbortOnConnectFail = true;
            using var mux = ConnectionMultiplexer.Connect(c);
            mux.GetDatabase().Ping();
        }
        catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure || IsAuthError(e.InnerException))
        {
            throw new ClusterException(PasswordProblem(cluster, e.InnerException ?? e));
        }
        catch (RedisConnectionException e)
        {
            throw new ClusterException($"cannot reach Redis at {cluster.Display}: {e.Message.Split('\n')[0]}");
        }
        catch (RedisServerException e) when (IsAuthError(e))
        {
            throw new ClusterException(PasswordProblem(cluster, e));
        }
    }

    private static bool IsAuthError(Exception? e) =>
        e?.Message is { } m && (m.Contains("NOAUTH", StringComparison.Ordinal) || m.Contains("WRONGPASS", StringComparison.Ordinal) || m.Contains("invalid password", StringComparison.OrdinalIgnoreCase));

    /// <summary>Redis refused this process: no password given, or the wrong one (never printed).</summary>
    private static string PasswordProblem(ClusterAddress cluster, Exception e)
    {
        var given = !string.IsNullOrEmpty(cluster.RedisOptions().Password);
        return given
            ? $"Redis at {cluster.Display} refused the password (from {(ConfigurationOptions.Parse(cluster.Redis).Password is { Length: > 0 } ? "password= in --redis" : ClusterAddress.PasswordVariable)}): check it"
            : $"Redis at {cluster.Display} requires a password: set {ClusterAddress.PasswordVariable} (or password= in --redis)";
    }

    /// <summary>
    /// The workers Orleans' membership table in Redis lists as active (status 3) for this cluster. Zero means no
    /// client can connect, so the client commands say so at once instead of retrying the gateways for 30 s.
    /// (A worker killed without a goodbye stays listed until its peers declare it dead, so a positive count is not
    /// proof that one answers: the connection attempt decides then.)
    /// </summary>
    public static int ActiveWorkers(ClusterAddress cluster) => ActiveSilos(cluster)?.Count ?? 1;

    /// <summary>
    /// The active silos' host, silo port and gateway port, freshest first; null when unknown (Redis failed, or a
    /// format this version does not know: then the connection attempt decides).
    /// </summary>
    public static IReadOnlyList<(string Host, int SiloPort, int GatewayPort)>? ActiveSilos(ClusterAddress cluster)
    {
        try
        {
            using var mux = ConnectionMultiplexer.Connect(cluster.RedisOptions());
            var entries = mux.GetDatabase().HashGetAll($"hyperunmix-{cluster.Name}/members/{cluster.Name}");
            var active = new List<(string, int, int, DateTime)>();
            foreach (var e in entries)
            {
                if (!e.Name.ToString().StartsWith('S')) continue;
                try
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(e.Value.ToString());
                    var root = doc.RootElement;
                    if (!(root.TryGetProperty("Status", out var st) && st.TryGetInt32(out var status))) return null;
                    if (status != 3) continue;
                    // "127.0.0.1:46387@155569392"
                    var address = root.GetProperty("SiloAddress").GetProperty("SiloAddress").GetString()!.Split('@')[0];
                    var colon = address.LastIndexOf(':');
                    var alive = root.TryGetProperty("IAmAliveTime", out var t) && t.TryGetDateTime(out var time) ? time : DateTime.MinValue;
                    active.Add((address[..colon].Trim('[', ']'), int.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture),
                        root.TryGetProperty("ProxyPort", out var proxy) ? proxy.GetInt32() : 0, alive));
                }
                catch (Exception x) when (x is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    return null;
                }
            }
            return active.OrderByDescending(a => a.Item4).Select(a => (a.Item1, a.Item2, a.Item3)).ToList();
        }
        catch (RedisException) { return null; }
    }
}

/// <summary>A cluster that cannot be reached or a job that cannot be run (exit code 5).</summary>
internal sealed class ClusterException(string message, Exception? inner = null) : HyperUnmixException(message, inner)
{
    public override ErrorKind Kind => ErrorKind.ClusterUnavailable;
}
