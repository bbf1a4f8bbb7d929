using System.Diagnostics;
using System.Text.Json;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>The project's sample scene, generated once per test run into a temporary folder.</summary>
public sealed class SampleScene : IDisposable
{
    public SampleScene()
    {
        Dir = Directory.CreateTempSubdirectory("hu-pipe-").FullName;
        SampleRasters.Write(Dir, overwrite: false);
    }

    public string Dir { get; }
    public string Tif => Path.Combine(Dir, "scene.tif");
    public string Img => Path.Combine(Dir, "scene.img");
    public string Truth => Path.Combine(Dir, "scene_abundances.tif");
    public string TruthEndmembers => Path.Combine(Dir, "scene_endmembers.csv");
    public string Roi => Path.Combine(Dir, "roi.geojson");

    public string NewDir()
    {
        var d = Path.Combine(Dir, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    public void Dispose() => Directory.Delete(Dir, true);

    public static string Tool(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEnd();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)}: {e}");
        return o;
    }

    public static JsonElement GdalInfo(string path) => JsonDocument.Parse(Tool("gdalinfo", "-json", path)).RootElement;
}

[CollectionDefinition("sample")]
public sealed class SampleCollection : ICollectionFixture<SampleScene>;
