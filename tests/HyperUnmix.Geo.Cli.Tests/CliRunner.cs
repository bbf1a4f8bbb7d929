using System.Diagnostics;
using System.Text.Json;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>Runs the real hyperunmix command as a separate process, as users and the QGIS plugin do.</summary>
public sealed class CliRunner : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("hu-cli-").FullName;

    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(System.IO.Path.Combine(d.FullName, "HyperUnmix.Geo.sln"))) d = d.Parent;
            return d!.FullName;
        }
    }

    public static string Sample(string name) => System.IO.Path.Combine(RepoRoot, "sample-rasters", name);

    /// <summary>A file of the shared datasets (../shared/datasets beside the clone, as in CI).</summary>
    public static string Dataset(string relative) => System.IO.Path.GetFullPath(System.IO.Path.Combine(RepoRoot, "..", "shared", "datasets", relative));

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public (int Code, string Out, string Err) Run(params string[] args) => RunWith(null, args);

    public (int Code, string Out, string Err) RunWith(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Dir };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "hyperunmix.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, o.Result, e.Result);
    }

    public static JsonElement GdalInfo(string path)
    {
        var psi = new ProcessStartInfo("gdalinfo") { RedirectStandardOutput = true };
        psi.ArgumentList.Add("-json");
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return JsonDocument.Parse(json).RootElement;
    }

    /// <summary>SHA-256 of a raster's pixels as float32 BSQ (compression may change a file's bytes, never its values).</summary>
    public static string PixelHash(string raster)
    {
        var raw = raster + ".pixels";
        var psi = new ProcessStartInfo("gdal_translate") { RedirectStandardOutput = true };
        foreach (var a in new[] { "-q", "-of", "ENVI", raster, raw }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!) p.WaitForExit();
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(raw)));
        foreach (var f in Directory.EnumerateFiles(System.IO.Path.GetDirectoryName(raw)!, System.IO.Path.GetFileName(raw) + "*").Append(System.IO.Path.ChangeExtension(raw, ".hdr")))
            File.Delete(f);
        return hash;
    }

    public void Dispose() => Directory.Delete(Dir, true);
}
