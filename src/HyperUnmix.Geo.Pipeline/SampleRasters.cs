using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// The project's own sample scene (made by its generator, deterministic): a 100 x 80 pixel, 64-band scene on a
/// 30 m UTM 33N grid, four built-in materials in smooth patches at 50 dB (at 35-40 dB VCA misses soil on this water-dominated layout: see the README), a nodata triangle in the top-left
/// corner; as GeoTIFF and ENVI, with ground truth and a WGS 84 polygon ROI with a hole.
/// </summary>
internal static class SampleRasters
{
    public static IReadOnlyList<string> Write(string folder, bool overwrite)
    {
        Directory.CreateDirectory(folder);
        var tif = Path.Combine(folder, "scene.tif");
        var img = Path.Combine(folder, "scene.img");
        var synth = SyntheticSceneWriter.Write(new SynthOptions
        {
            Output = tif,
            EnviCopy = img,
            Bands = 64,
            EndmemberCount = 4,
            NoDataCorner = 12,
            Overwrite = overwrite,
            Scene = new SceneOptions { Width = 100, Height = 80, SnrDb = 50, Seed = 2026, Spatial = true, PurePixels = 2 },
        });
        var roi = Path.Combine(folder, "roi.geojson");
        using (var src = RasterSource.Open(tif))
            SyntheticSceneWriter.WriteRoiGeoJson(roi, src.Info,
            [
                [(20.5, 10.2), (85.3, 14.7), (78.9, 70.1), (30.2, 66.6), (20.5, 10.2)],
                [(45.1, 30.4), (45.1, 45.6), (60.7, 45.6), (60.7, 30.4), (45.1, 30.4)],
            ], overwrite);
        return new[] { synth.Cube, img, Path.ChangeExtension(img, ".hdr"), synth.Abundances, synth.Endmembers, roi }.Select(Path.GetFullPath).ToArray();
    }
}
