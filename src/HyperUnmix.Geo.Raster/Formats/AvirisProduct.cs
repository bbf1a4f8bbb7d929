using System.Globalization;
using System.Text.RegularExpressions;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// AVIRIS-NG (<c>angYYYYMMDDtHHMMSS_*</c>) and AVIRIS-3 (<c>AV3YYYYMMDDtHHMMSS_*</c>) ENVI cubes: wavelengths, FWHM and
/// <c>bbl</c> come from the ENVI header as for any ENVI file; what the product adds is its geometry. A flight line's
/// geometric lookup table (<c>*_glt</c>, <c>*_ort_glt</c>, AVIRIS-3 <c>*_GLT</c>) beside the cube is, per JPL's data
/// product description, two 32-bit bands, 1 the sample (column) and 2 the original line of the sensor pixel that lies
/// on each map cell, 1-based, 0 where none does, negative where the cell was filled from its nearest neighbour (the
/// magnitude is the pixel); its ENVI <c>map info</c> is the map grid (rotated UTM for AVIRIS-NG). A cube of the GLT's
/// size is already orthocorrected (JPL delivers most reflectance that way) and is read as it is; a cube of another
/// size is in sensor geometry and is orthorectified through the GLT into a temporary GeoTIFF (float32, -9999 where no
/// pixel lies or the cube's own nodata is), removed when the scene is closed.
/// </summary>
internal sealed partial class AvirisProduct : ISceneProduct
{
    public string Name => "AVIRIS";
    private const float Fill = GltOrtho.Fill;

    public ProductScene? Resolve(string path)
    {
        if (Directory.Exists(path)) return null;
        var name = System.IO.Path.GetFileName(path);
        if (FlightLine().Match(name) is not { Success: true } m) return null;
        var image = path.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase) ? path[..^4] : path;
        if (!File.Exists(image) || IsGlt(System.IO.Path.GetFileName(image)) || !File.Exists(image + ".hdr") && !File.Exists(System.IO.Path.ChangeExtension(image, ".hdr")))
            return null;
        var sensor = m.Groups[1].Value.Equals("ang", StringComparison.OrdinalIgnoreCase) ? "AVIRIS-NG" : "AVIRIS-3";
        var lower = name.ToLowerInvariant();
        var reflectance = lower.Contains("_rfl", StringComparison.Ordinal) || lower.Contains("_corr", StringComparison.Ordinal);
        var level = reflectance ? "L2 reflectance" : lower.Contains("_rdn", StringComparison.Ordinal) ? "L1B radiance" : "ENVI cube";

        using var cube = GdalDataset.Open(image);
        var info = RasterInfo.Read(cube, image, SceneFormats.For(cube).Header(cube));
        var files = new List<string> { image };
        files.AddRange(new[] { image + ".hdr", System.IO.Path.ChangeExtension(image, ".hdr") }.Where(File.Exists).Distinct());
        var glt = FindGlt(image, m.Value);
        var scene = new ProductScene
        {
            Sensor = sensor,
            Level = level,
            DatasetPath = image,
            MetadataFile = files.Count > 1 ? files[1] : image,
            BandCount = info.BandCount,
            Wavelengths = info.WavelengthsNm(), // AVIRIS-classic headers give micrometres
            Fwhm = info.Fwhm,
            BadBands = info.BadBands,
            Reflectance = reflectance && info.Scale.All(s => s == 1),
            Files = files,
        };
        if (glt is null) return scene;
        using var table = GdalDataset.Open(glt);
        if (table.Width == cube.Width && table.Height == cube.Height)
            return scene with { Level = level + ", orthocorrected (the size of its GLT)", Files = [.. files, glt] };
        var index = ReadGlt(glt, table, cube.Width, cube.Height);
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"hyperunmix-aviris-{Guid.NewGuid():N}.tif");
        try { WriteOrtho(temp, cube, info, table, index); }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return scene with
        {
            Level = level + $", orthorectified through {System.IO.Path.GetFileName(glt)}",
            DatasetPath = temp,
            TemporaryFile = temp,
            Scale = info.Scale,
            Offset = info.Offset,
            NoData = Fill,
            Files = [.. files, glt],
        };
    }

    [GeneratedRegex(@"^(ang|AV3)\d{8}t\d{6}", RegexOptions.IgnoreCase)]
    private static partial Regex FlightLine();

    private static bool IsGlt(string name) => name.EndsWith("_glt", StringComparison.OrdinalIgnoreCase);

    /// <summary>The flight line's GLT beside the cube: <c>*_ort_glt</c> first, then any <c>*_glt</c>; null when there is none.</summary>
    private static string? FindGlt(string image, string flightLine)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(image))!;
        var candidates = Directory.GetFiles(dir, flightLine + "*")
            .Where(f => IsGlt(System.IO.Path.GetFileName(f)))
            .OrderBy(f => System.IO.Path.GetFileName(f).EndsWith("_ort_glt", StringComparison.OrdinalIgnoreCase) ? 0 : 1)
            .ThenBy(f => f, StringComparer.Ordinal)
            .ToArray();
        return candidates.Length == 0 ? null : candidates[0];
    }

    /// <summary>For each map cell (row-major), the cube pixel (line x samples + sample) that lies there, or -1.</summary>
    private static unsafe int[] ReadGlt(string path, GdalDataset table, int samples, int lines)
    {
        if (table.BandCount < 2)
            throw new RasterDataException(path, $"has {table.BandCount} band(s); a GLT has 2 (sample, line)");
        int w = table.Width, h = table.Height;
        var s = new int[w * h];
        var l = new int[w * h];
        fixed (int* p = s) table.RasterIO(false, 0, 0, w, h, p, GdalDataType.Int32, [1], 4, 4L * w, 4L * w * h);
        fixed (int* p = l) table.RasterIO(false, 0, 0, w, h, p, GdalDataType.Int32, [2], 4, 4L * w, 4L * w * h);
        var index = GltOrtho.Index(path, s, l, w, samples, lines, "band 1 (sample)", "samples", "band 2 (line)", "lines");
        return index;
    }

    private static unsafe void WriteOrtho(string temp, GdalDataset cube, RasterInfo info, GdalDataset table, int[] index)
    {
        int cw = cube.Width, ch = cube.Height;
        using var ortho = new GltOrtho(temp, index, table.Width, table.Height, cube.BandCount, table.GetGeoTransform(), table.ProjectionWkt);
        var band = new float[cw * ch];
        for (var b = 0; b < cube.BandCount; b++)
        {
            fixed (float* p = band) cube.RasterIO(false, 0, 0, cw, ch, p, GdalDataType.Float32, [b + 1], 4, 4L * cw, 4L * cw * ch);
            ortho.WriteBand(b, band, 1, 0, info.NoData[b] is { } nd ? (float)nd : null);
        }
        ortho.Complete();
    }
}
