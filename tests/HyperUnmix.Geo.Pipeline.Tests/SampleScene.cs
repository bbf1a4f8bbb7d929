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

    public static string Tool(string tool, params string[] args) => Processes.Tool(tool, args);

    public static JsonElement GdalInfo(string path) => GdalTools.Info(path);
}

[CollectionDefinition("sample")]
public sealed class SampleCollection : ICollectionFixture<SampleScene>;
