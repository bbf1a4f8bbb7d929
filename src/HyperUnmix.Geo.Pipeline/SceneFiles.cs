using System.Globalization;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Writes whole in-memory cubes (synthetic scenes, ground truth) as georeferenced rasters.</summary>
internal static class SceneFiles
{
    /// <summary>Writes an L x N band-sequential cube, tile by tile, with wavelengths as band metadata.</summary>
    public static void WriteCube(string path, RasterFormat format, float[] bsq, RasterProfile profile, double[]? wavelengthsNm, bool overwrite)
    {
        var l = profile.BandCount;
        var n = profile.Width * profile.Height;
        if (bsq.Length != l * n) throw new ArgumentException($"cube has {bsq.Length} samples, the profile needs {l * n}");
        if (wavelengthsNm is not null)
        {
            profile = profile with
            {
                BandMetadata = wavelengthsNm.Select(w => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>
                {
                    ["wavelength"] = w.ToString("0.####", CultureInfo.InvariantCulture),
                    ["wavelength_units"] = "nm",
                }).ToArray(),
            };
        }
        using var sink = RasterSink.Create(path, profile, format, overwrite);
        var plan = TilePlan.ForRaster(profile.Width, profile.Height, 256);
        foreach (var tile in plan.Tiles())
        {
            var w = tile.Window;
            var buf = new float[l * w.Area];
            for (var b = 0; b < l; b++)
                for (var r = 0; r < w.Height; r++)
                    Array.Copy(bsq, b * n + (w.RowOff + r) * profile.Width + w.ColOff, buf, b * w.Area + r * w.Width, w.Width);
            sink.WriteTile(w, buf);
        }
        sink.Commit();
    }
}
