using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// The cluster's shared secret: a self-signed certificate with its private key (a PFX file). Every worker and client
/// presents it in mutual TLS and accepts a peer only if the peer presents an accepted certificate, compared by its
/// SHA-256 fingerprint (no public CA is involved, so a certificate that some CA signed is worth nothing here).
/// The first certificate is the one presented; the others are accepted too, which is how a secret is rotated
/// without stopping the cluster (docs/cluster.md).
/// </summary>
internal sealed class ClusterSecret
{
    private readonly HashSet<string> _accepted;

    private ClusterSecret(X509Certificate2 presented, IReadOnlyList<X509Certificate2> all)
    {
        Certificate = presented;
        _accepted = all.Select(Fingerprint).ToHashSet(StringComparer.Ordinal);
        Fingerprints = all.Select(Fingerprint).ToArray();
    }

    /// <summary>The certificate this process presents (with its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SHA-256 fingerprints (hex) of the accepted certificates, the presented one first.</summary>
    public IReadOnlyList<string> Fingerprints { get; }

    /// <summary>Whether a peer's certificate is one of the cluster's: the TLS handshake has proven that the peer holds its private key.</summary>
    public bool Accepts(X509Certificate2? peer) => peer is not null && _accepted.Contains(Fingerprint(peer));

    public static string Fingerprint(X509Certificate2 c) => Convert.ToHexString(c.GetCertHash(HashAlgorithmName.SHA256));

    /// <summary>Short form for messages: the first 16 hex digits of the fingerprint.</summary>
    public static string Short(string fingerprint) => fingerprint[..Math.Min(16, fingerprint.Length)];

    /// <summary>Environment variable with the secret's file(s), separated by ':' (the first is presented).</summary>
    public const string EnvironmentVariable = "HYPERUNMIX_CLUSTER_SECRET";

    /// <summary>Loads the secret files (the first is presented, all are accepted); bad files are a <see cref="ClusterSecretException"/>.</summary>
    public static ClusterSecret Load(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new ArgumentException("no secret file", nameof(paths));
        var certs = new List<X509Certificate2>();
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new ClusterSecretException($"{full}: cluster secret not found (create one with: hyperunmix cluster secret create --out {path})");
            X509Certificate2 c;
            try { c = X509CertificateLoader.LoadPkcs12FromFile(full, password: null, X509KeyStorageFlags.EphemeralKeySet); }
            catch (CryptographicException e) { throw new ClusterSecretException($"{full}: not a cluster secret (a PFX file without password, as `hyperunmix cluster secret create` writes): {e.Message}"); }
            if (!c.HasPrivateKey) throw new ClusterSecretException($"{full}: the certificate has no private key: a cluster secret is the PFX with its key");
            certs.Add(c);
        }
        return new ClusterSecret(certs[0], certs);
    }

    /// <summary>Whether others than the owner may read the file (a warning: the secret is as good as who can read it).</summary>
    public static bool ReadableByOthers(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;

    /// <summary>
    /// Writes a new secret: an ECDSA P-256 key and a self-signed certificate for TLS server and client authentication,
    /// valid for <paramref name="years"/> years, as a PFX without password, mode 0600. Refuses to overwrite a file.
    /// Returns its fingerprint.
    /// </summary>
    public static string Create(string path, string subject, int years = 10)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + subject.Replace(",", " ", StringComparison.Ordinal)), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var cert = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(years));
        var pfx = cert.Export(X509ContentType.Pkcs12);
        var full = Path.GetFullPath(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var f = new FileStream(full, options)) f.Write(pfx);
        return Fingerprint(cert);
    }
}

/// <summary>A cluster secret that cannot be used (missing, not a PFX, no key): exit 2, the command line is wrong.</summary>
internal sealed class ClusterSecretException(string message) : HyperUnmixException(message)
{
    public override ErrorKind Kind => ErrorKind.Usage;
}
