using System.Text.Json;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>Runs the real hyperunmix command as a separate process, as users and the QGIS plugin do.</summary>
public sealed class CliRunner : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("hu-cli-").FullName;

    public static string RepoRoot => Repo.Root;

    public static string Sample(string name) => System.IO.Path.Combine(RepoRoot, "sample-rasters", name);

    /// <summary>A file of the shared datasets (../shared/datasets beside the clone, as in CI).</summary>
    public static string Dataset(string relative) => Repo.Dataset(relative);

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public (int Code, string Out, string Err) Run(params string[] args) => RunWith(null, args);

    public (int Code, string Out, string Err) RunWith(IReadOnlyDictionary<string, string>? environment, params string[] args)
        => Processes.Run("dotnet", [System.IO.Path.Combine(AppContext.BaseDirectory, "hyperunmix.dll"), .. args],
            environment?.ToDictionary(kv => kv.Key, kv => (string?)kv.Value), Dir);

    public static JsonElement GdalInfo(string path) => GdalTools.Info(path);

    /// <summary>SHA-256 of a raster's pixels as float32 BSQ (compression may change a file's bytes, never its values).</summary>
    public static string PixelHash(string raster)
    {
        var raw = raster + ".pixels";
        Processes.Tool("gdal_translate", "-q", "-of", "ENVI", raster, raw);
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(raw)));
        foreach (var f in Directory.EnumerateFiles(System.IO.Path.GetDirectoryName(raw)!, System.IO.Path.GetFileName(raw) + "*").Append(System.IO.Path.ChangeExtension(raw, ".hdr")))
            File.Delete(f);
        return hash;
    }

    /// <summary>One band of a raster, a value per pixel (through gdal_translate's XYZ output).</summary>
    public static float[] Band(string raster, int band)
    {
        var txt = raster + $".b{band}.xyz";
        Processes.Tool("gdal_translate", "-q", "-of", "XYZ", "-b", band.ToString(System.Globalization.CultureInfo.InvariantCulture), raster, txt);
        var values = File.ReadAllLines(txt).Select(l => float.Parse(l.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        File.Delete(txt);
        return values;
    }

    public void Dispose() => Directory.Delete(Dir, true);
}
