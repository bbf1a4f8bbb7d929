using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// Before a worker joins or a command connects: one TLS handshake with an active worker, so that a wrong, missing or
/// superfluous cluster secret is a one-line error at once (exit 5), not Orleans' retries for 30 s and a stack trace.
/// This is a courtesy to the operator, not the protection: the workers themselves refuse a peer without an accepted
/// certificate whether or not it probed (the stranger tests check both).
/// </summary>
internal static class TlsProbe
{
    /// <summary>Test hook: HYPERUNMIX_SKIP_TLS_PROBE=1 goes straight to Orleans, as a stranger that ignores this check would.</summary>
    private static bool Skipped => Environment.GetEnvironmentVariable("HYPERUNMIX_SKIP_TLS_PROBE") == "1";

    /// <summary>Throws a <see cref="ClusterException"/> when the cluster's workers and this process's secret do not match.</summary>
    /// <param name="who">"worker" or "command", for the message.</param>
    /// <param name="gateway">Probe the gateway port (clients) rather than the silo port (workers).</param>
    public static async Task Check(ClusterAddress cluster, string who, bool gateway, CancellationToken cancel)
    {
        if (Skipped || ClusterSetup.ActiveSilos(cluster) is not { Count: > 0 } silos) return;
        foreach (var (host, siloPort, gatewayPort) in silos.Take(3))
        {
            var port = gateway ? gatewayPort : siloPort;
            if (port == 0) continue;
            var verdict = await Probe(host, port, cluster.Secret, cancel);
            if (verdict is null) continue; // not reachable, or no clear answer: the next one, then Orleans decides
            if (verdict.Kind is { } kind) throw new ClusterException(Message(cluster, who, kind, verdict.Theirs, host, port));
            return;
        }
    }

    /// <summary>
    /// One TLS handshake with itself on loopback, both ends with the cluster's certificate, before the silo starts:
    /// the first handshake of a process JITs the TLS stack, which took seconds on a loaded 2-core machine, and a
    /// joining silo whose first connections are that slow was declared dead by its peers (2-second probes).
    /// </summary>
    public static async Task WarmUp(ClusterSecret secret, CancellationToken cancel)
    {
        var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            var server = Task.Run(async () =>
            {
                using var accepted = await listener.AcceptTcpClientAsync(timeout.Token);
                await using var tls = new SslStream(accepted.GetStream(), false, (_, c, _, _) => c is not null);
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = secret.Certificate, ClientCertificateRequired = true }, timeout.Token);
                await tls.WriteAsync(new byte[] { 1 }, timeout.Token);
            }, CancellationToken.None);
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
            await using var client = new SslStream(tcp.GetStream(), false, (_, c, _, _) => c is not null);
            await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "hyperunmix", ClientCertificates = [secret.Certificate] }, timeout.Token);
            await client.ReadExactlyAsync(new byte[1], timeout.Token);
            await server;
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException or OperationCanceledException && !cancel.IsCancellationRequested)
        {
            // Only a warm-up: the silo's own connections will say what is wrong, if anything is.
        }
        finally { listener.Stop(); }
    }

    private enum Problem { NoTls, SecretRequired, OtherSecret, Refused }

    /// <summary>Kind null: the secrets match (or neither side has one).</summary>
    private sealed record Verdict(Problem? Kind, string? Theirs = null);

    private static string Message(ClusterAddress c, string who, Problem kind, string? theirs, string host, int port)
    {
        var mine = c.Secret is null ? "" : ClusterSecret.Short(c.Secret.Fingerprints[0]);
        return kind switch
        {
            Problem.NoTls => $"the workers of cluster {c.Name} run without a cluster secret (no TLS at {host}:{port}), and this {who} has one: start them all with --secret, or none",
            Problem.SecretRequired => $"cluster {c.Name} requires its cluster secret (TLS at {host}:{port}), and this {who} has none: give --secret FILE or set ${ClusterSecret.EnvironmentVariable}",
            Problem.OtherSecret => $"cluster {c.Name} has another cluster secret (its workers present {theirs}, this {who}'s is {mine}): it is refused; use the cluster's secret file",
            _ => $"the workers of cluster {c.Name} refused this {who}'s cluster secret ({mine}, at {host}:{port}): use the cluster's secret file",
        };
    }

    /// <summary>null: no verdict.</summary>
    private static async Task<Verdict?> Probe(string host, int port, ClusterSecret? secret, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        using var tcp = new TcpClient();
        try { await tcp.ConnectAsync(host, port, timeout.Token); }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancel.IsCancellationRequested) { return null; }
        X509Certificate2? theirs = null;
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            if (certificate is not null) theirs = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return true; // judged below, by fingerprint
        });
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "hyperunmix",
                ClientCertificates = secret is null ? null : [secret.Certificate],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, timeout.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException && !cancel.IsCancellationRequested)
        {
            if (theirs is null)
                // Closed without a certificate: no TLS there. A timeout says nothing (a loaded machine).
                return e is OperationCanceledException ? null : new Verdict(secret is null ? null : Problem.NoTls);
            var judged = Judge(secret, theirs);
            return judged.Kind is null ? new Verdict(Problem.Refused) : judged;
        }
        return theirs is null ? null : Judge(secret, theirs);
    }

    private static Verdict Judge(ClusterSecret? secret, X509Certificate2 theirs) =>
        secret is null ? new Verdict(Problem.SecretRequired)
        : !secret.Accepts(theirs) ? new Verdict(Problem.OtherSecret, ClusterSecret.Short(ClusterSecret.Fingerprint(theirs)))
        : new Verdict(null);
}
