using System.Text.Json;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster.Tests;

/// <summary>Tiny rasters written into a temporary folder through GDAL, and GDAL's own tools to check outputs.</summary>
public sealed class TestRasters : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("hu-raster-").FullName;

    public void Dispose() => Directory.Delete(Dir, true);

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    /// <summary>A deterministic cube: value(b, r, c) = b * 1000 + r * 10 + c * 0.5.</summary>
    public static float[] Cube(int w, int h, int bands)
    {
        var data = new float[w * h * bands];
        for (var b = 0; b < bands; b++)
            for (var r = 0; r < h; r++)
                for (var c = 0; c < w; c++) data[(b * h + r) * w + c] = b * 1000 + r * 10 + c * 0.5f;
        return data;
    }

    /// <summary>Writes a band-sequential float cube with a driver and creation options, georeferenced in UTM 33N.</summary>
    internal unsafe string Write(string name, string driver, int w, int h, float[] bsq, string[] options, GdalDataType type = GdalDataType.Float32,
        Action<GdalDataset>? configure = null)
    {
        var bands = bsq.Length / (w * h);
        var path = Path(name);
        using var ds = GdalDataset.Create(driver, path, w, h, bands, type, options);
        ds.SetGeoTransform([500000, 30, 0, 5200000, 0, -30]);
        using (var srs = SpatialReference.FromUserInput("EPSG:32633")) ds.SetProjection(srs.Wkt);
        configure?.Invoke(ds);
        var map = Enumerable.Range(1, bands).ToArray();
        fixed (float* p = bsq) ds.RasterIO(true, 0, 0, w, h, p, GdalDataType.Float32, map, 4, 4L * w, 4L * w * h);
        ds.Close();
        return path;
    }

    /// <summary>Runs a GDAL command-line tool and returns its stdout (fails the test on a non-zero exit).</summary>
    public static string Tool(string tool, params string[] args) => Processes.Tool(tool, args);

    public static JsonElement GdalInfo(string path) => GdalTools.Info(path, allDomains: true);
}
