using System.Globalization;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>What <see cref="LibraryFromRoi.Build"/> collects.</summary>
/// <param name="EveryPixel">One spectrum per valid pixel inside each polygon or point window (else the feature's mean).</param>
/// <param name="PointWindow">For point features: the side of the pixel window centred on each point (odd; 1: the pixel the point falls in).</param>
/// <param name="AssumeSceneCrs">Read the features' coordinates in the scene's CRS even when CRSs are missing or differ.</param>
internal sealed record LibraryFromRoiOptions(string Scene, string Roi, string ClassField, string Output, bool EveryPixel = false,
    double Scale = 1, string? Layer = null, bool Overwrite = false, int PointWindow = 1, bool AssumeSceneCrs = false);

/// <summary>
/// A classed spectral library from polygons or points over a scene: for each feature, the mean of its valid pixels
/// (inside the polygon, or in the <see cref="LibraryFromRoiOptions.PointWindow"/> around each of its points), or every
/// valid pixel, in reflectance (the file's band scale and the given scale applied), named after the feature id and
/// classed by the feature's <c>ClassField</c>; wavelengths and FWHM in nm from the scene. Written as our CSV (class
/// rows after the header), which <c>hyperunmix mesma --library</c> reads.
/// </summary>
internal static class LibraryFromRoi
{
    public static SpectralLibrary Build(LibraryFromRoiOptions o, CancellationToken cancel = default)
    {
        var output = Path.GetFullPath(o.Output);
        if (File.Exists(output) && !o.Overwrite) throw new RasterOutputException(output, $"already exists (use {OptionPath.LibraryOverwrite} to replace it)");
        if (!Directory.Exists(Path.GetDirectoryName(output))) throw new RasterOutputException(output, "the output folder does not exist");
        using var source = RasterSource.Open(o.Scene);
        var info = source.Info;
        if (info.Wavelengths is null) throw new RasterDataException(o.Scene, "has no band wavelengths: a library needs them");
        var micro = info.WavelengthUnits?.Trim().ToLowerInvariant() is "micrometers" or "micrometres" or "um" or "µm";
        var toNm = micro ? 1000.0 : 1.0;

        // The class of each feature, from the layer's attributes.
        List<(long Fid, Dictionary<string, string?> Fields)> features;
        using (var ds = GdalDataset.OpenVector(o.Roi))
        {
            var layer = o.Layer is null ? ds.GetLayer(0) : ds.GetLayer(o.Layer);
            features = layer.ReadAttributes(cancel);
        }
        if (features.Count == 0) throw new RasterDataException(o.Roi, "has no features");
        var key = features[0].Fields.Keys.FirstOrDefault(k => k.Equals(o.ClassField, StringComparison.OrdinalIgnoreCase))
            ?? throw new RasterDataException(o.Roi, $"has no field '{o.ClassField}' (it has: {string.Join(", ", features[0].Fields.Keys)})");

        var bands = source.AllBands;
        // Every used pixel's spectrum with its samples' validity: a band is kept when it is valid in every used pixel
        // (real products have bands that are nodata everywhere, e.g. EnMAP's 1331 nm).
        var pixels = new List<(long Fid, string Cls, int Col, int Row, float[] Y, byte[] Ok)>();
        if (o.PointWindow < 1 || o.PointWindow % 2 == 0) throw new ArgumentOutOfRangeException(nameof(o), $"the point window must be an odd number of pixels (1, 3, 5, ...), not {o.PointWindow}");
        // Points (field samples) or polygons: each feature is a list of windows with the pixels inside marked.
        var points = RegionOfInterest.LoadPoints(o.Roi, info, new RoiSelection { Layer = o.Layer, AssumeSceneCrs = o.AssumeSceneCrs }, cancel)?.ToLookup(p => p.Fid);
        IEnumerable<(Window W, byte[] Inside)> Regions(long fid)
        {
            if (points is not null)
            {
                var half = o.PointWindow / 2;
                foreach (var (_, col, row) in points[fid])
                {
                    var w = new Window(col - half, row - half, o.PointWindow, o.PointWindow).Intersect(new Window(0, 0, info.Width, info.Height));
                    var all = new byte[w.Area];
                    Array.Fill(all, (byte)1);
                    yield return (w, all);
                }
                yield break;
            }
            var roi = RegionOfInterest.Load(o.Roi, info, new RoiSelection { Layer = o.Layer, FeatureIds = [fid], AssumeSceneCrs = o.AssumeSceneCrs }, cancel);
            var inside = new byte[roi.Window.Area];
            Array.Fill(inside, (byte)1);
            if (roi.Mask(roi.Window, inside) > 0) yield return (roi.Window, inside);
        }
        foreach (var (fid, fields) in features)
        {
            cancel.ThrowIfCancellationRequested();
            var cls = fields[key];
            if (string.IsNullOrWhiteSpace(cls)) throw new RasterDataException(o.Roi, $"feature {fid} has no value in '{key}'");
            var seen = new HashSet<(int, int)>();
            foreach (var (w, inside) in Regions(fid))
            {
                var n = (int)w.Area;
                var y = new float[bands.Length * n];
                var ok = new byte[bands.Length * n];
                source.ReadSamples(w, bands, y, ok);
                for (var k = 0; k < n; k++)
                {
                    if (inside[k] == 0) continue;
                    var any = false;
                    var nonzero = false;
                    for (var b = 0; b < bands.Length; b++)
                    {
                        if (ok[b * n + k] == 0) continue;
                        any = true;
                        nonzero |= y[b * n + k] != 0;
                    }
                    // Nodata pixels and fill pixels (0 in every band) are not spectra; a pixel two points of a
                    // feature share counts once.
                    var (col, row) = (w.ColOff + k % w.Width, w.RowOff + k / w.Width);
                    if (!any || !nonzero || !seen.Add((col, row))) continue;
                    pixels.Add((fid, cls, col, row,
                        Enumerable.Range(0, bands.Length).Select(b => y[b * n + k]).ToArray(), Enumerable.Range(0, bands.Length).Select(b => ok[b * n + k]).ToArray()));
                }
            }
        }
        var kept = Enumerable.Range(0, bands.Length).Where(b => pixels.All(p => p.Ok[b] != 0)).ToArray();
        if (pixels.Count > 0 && kept.Length == 0) throw new RasterDataException(o.Scene, $"no band is valid in every pixel of the {(points is null ? "polygons" : "points")}");
        var spectra = new List<double[]>();
        var names = new List<string>();
        var classes = new List<string>();
        if (o.EveryPixel)
            foreach (var p in pixels)
            {
                spectra.Add(kept.Select(b => p.Y[b] * o.Scale).ToArray());
                names.Add(string.Create(CultureInfo.InvariantCulture, $"feature {p.Fid} pixel {p.Col},{p.Row}"));
                classes.Add(p.Cls);
            }
        else
            foreach (var g in pixels.GroupBy(p => p.Fid))
            {
                var list = g.ToList();
                spectra.Add(kept.Select(b => list.Sum(p => (double)p.Y[b]) / list.Count * o.Scale).ToArray());
                names.Add(string.Create(CultureInfo.InvariantCulture, $"feature {g.Key}"));
                classes.Add(list[0].Cls);
            }
        if (spectra.Count == 0) throw new RasterDataException(o.Roi, $"no feature covers a valid pixel of {o.Scene}");
        var lib = new SpectralLibrary(output, spectra.ToArray(), names.ToArray(), kept.Select(b => info.Wavelengths[b] * toNm).ToArray())
        {
            Fwhm = info.Fwhm is { } f ? kept.Select(b => f[b] * toNm).ToArray() : null,
            Classes = new Dictionary<string, string[]> { [key] = classes.ToArray() },
        };
        SpectralLibraries.WriteCsv(output, lib);
        return lib;
    }
}
