using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace HyperUnmix.Geo.Cluster;

/// <summary>Where a cluster lives: its Redis (membership, grain state, grain directory) and its name.</summary>
public sealed record ClusterAddress(string Redis, string Name)
{
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
        c.AbortOnConnectFail = false;
        c.ConnectTimeout = 3000;
        return c;
    }
}

/// <summary>How workers (silos) and clients join a cluster: Redis for everything, fast failure detection.</summary>
public static class ClusterSetup
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
            o.MaxJoinAttemptTime = TimeSpan.FromSeconds(10);
            o.EvictWhenMaxJoinAttemptTimeExceeded = true;
        });
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
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
        var host = redis.Split(',')[0].Split(':')[0];
        if (host is "localhost" or "127.0.0.1" or "::1") return IPAddress.Loopback;
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
        catch (RedisConnectionException e)
        {
            throw new ClusterException($"cannot reach Redis at {cluster.Redis}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>
    /// The workers Orleans' membership table in Redis lists as active (status 3) for this cluster. Zero means no
    /// client can connect, so the client commands say so at once instead of retrying the gateways for 30 s.
    /// (A worker killed without a goodbye stays listed until its peers declare it dead, so a positive count is not
    /// proof that one answers: the connection attempt decides then.)
    /// </summary>
    public static int ActiveWorkers(ClusterAddress cluster)
    {
        try
        {
            using var mux = ConnectionMultiplexer.Connect(cluster.RedisOptions());
            var entries = mux.GetDatabase().HashGetAll($"hyperunmix-{cluster.Name}/members/{cluster.Name}");
            var active = 0;
            foreach (var e in entries)
            {
                if (!e.Name.ToString().StartsWith('S')) continue;
                try
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(e.Value.ToString());
                    if (doc.RootElement.TryGetProperty("Status", out var st) && st.TryGetInt32(out var status) && status == 3) active++;
                }
                catch (System.Text.Json.JsonException) { active++; /* a format this version does not know: let the connection decide */ }
            }
            return active;
        }
        catch (RedisException) { return 1; /* unknown: let the connection attempt decide */ }
    }
}

/// <summary>A cluster that cannot be reached or a job that cannot be run (exit code 5).</summary>
public sealed class ClusterException(string message, Exception? inner = null) : Exception(message, inner);
