using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Where and how a synthetic scene is written.</summary>
internal sealed record SynthOptions
{
    /// <summary>Output path of the cube (.tif or .img); ground truth goes next to it.</summary>
    public required string Output { get; init; }
    public SceneOptions Scene { get; init; } = new();
    /// <summary>Bands: of the built-in spectra (null: 96), or evenly spaced bands of the library, first and last included (null: all of them).</summary>
    public int? Bands { get; init; }
    public int EndmemberCount { get; init; } = 4;
    /// <summary>Spectral library CSV to draw endmembers from (built-in synthetic spectra when null).</summary>
    public string? Library { get; init; }
    public IReadOnlyList<string> LibraryNames { get; init; } = [];
    public RasterFormat Format { get; init; } = RasterFormat.GTiff;
    public int Epsg { get; init; } = 32633;
    public double PixelSize { get; init; } = 30;
    public double OriginX { get; init; } = 500000;
    public double OriginY { get; init; } = 5200000;
    /// <summary>Pixels set to nodata (value -9999 in every band) in the top-left corner, as a square of this side.</summary>
    public int NoDataCorner { get; init; }
    public bool Overwrite { get; init; }
    /// <summary>Also write the same cube as ENVI BSQ at this path (the sample data ships both formats).</summary>
    public string? EnviCopy { get; init; }
}

/// <summary>Files written for a synthetic scene.</summary>
internal sealed record SynthResult(string Cube, string Abundances, string Endmembers, EndmemberSet Truth);

/// <summary>Writes a synthetic georeferenced scene with its ground truth (abundances GeoTIFF, endmembers CSV).</summary>
internal static class SyntheticSceneWriter
{
    public const float NoData = -9999f;

    public static SynthResult Write(SynthOptions o)
    {
        var endmembers = LoadEndmembers(o);
        if (SceneGenerator.RareProblem(o.Scene, endmembers.Count) is { } rare) throw new UsageException(OptionPath.SynthRare, rare);
        var scene = SceneGenerator.Generate(endmembers, o.Scene);
        var cube = scene.Cube;
        var n = scene.Pixels;
        var corner = Math.Min(o.NoDataCorner, Math.Min(scene.Width, scene.Height));
        for (var r = 0; r < corner; r++)
            for (var c = 0; c < corner - r; c++)
                for (var b = 0; b < scene.Bands; b++) cube[b * n + r * scene.Width + c] = NoData;

        using var srs = SpatialReference.FromUserInput($"EPSG:{o.Epsg}");
        double[] gt = [o.OriginX, o.PixelSize, 0, o.OriginY, 0, -o.PixelSize];
        var full = Path.GetFullPath(o.Output);
        var stem = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
        var abundancePath = stem + "_abundances.tif";
        var csvPath = stem + "_endmembers.csv";
        foreach (var f in new[] { abundancePath, csvPath })
            if (File.Exists(f) && !o.Overwrite) throw new RasterOutputException(f, $"already exists (use {OptionPath.SynthOverwrite} to replace it)");

        var meta = new Dictionary<string, string>
        {
            ["HYPERUNMIX_SYNTHETIC"] = $"model={o.Scene.Model} snr_db={o.Scene.SnrDb.ToString(CultureInfo.InvariantCulture)} seed={o.Scene.Seed} p={endmembers.Count}" +
                (o.Scene.RareCount > 0 ? string.Create(CultureInfo.InvariantCulture, $" rare={o.Scene.RareCount} rare_fraction={o.Scene.RareFraction}") : ""),
            ["HYPERUNMIX_ENDMEMBERS"] = string.Join(",", endmembers.Names),
        };
        var cubeProfile = new RasterProfile
        {
            Width = scene.Width,
            Height = scene.Height,
            BandNames = endmembers.Wavelengths!.Select(w => $"{w:0.#} nm").ToArray(),
            GeoTransform = gt,
            CrsWkt = srs.Wkt,
            NoData = corner > 0 ? NoData : null,
            Metadata = meta,
        };
        SceneFiles.WriteCube(full, o.Format, cube, cubeProfile, endmembers.Wavelengths, o.Overwrite);
        if (o.EnviCopy is not null) SceneFiles.WriteCube(o.EnviCopy, RasterFormat.Envi, cube, cubeProfile, endmembers.Wavelengths, o.Overwrite);
        var abundanceProfile = cubeProfile with { BandNames = endmembers.Names, NoData = null };
        SceneFiles.WriteCube(abundancePath, RasterFormat.GTiff, Array.ConvertAll(scene.Abundances, v => (float)v), abundanceProfile, null, o.Overwrite);
        EndmemberFiles.WriteCsv(csvPath, endmembers);
        return new SynthResult(full, abundancePath, csvPath, endmembers);
    }

    private static EndmemberSet LoadEndmembers(SynthOptions o)
    {
        if (o.Library is null)
        {
            var wl = SyntheticSpectra.Wavelengths(o.Bands ?? 96);
            if (o.EndmemberCount > SyntheticSpectra.Materials.Length)
                throw new UsageException(OptionPath.SynthEndmemberCount, $"{OptionPath.SynthEndmemberCount} {o.EndmemberCount}: the built-in library has {SyntheticSpectra.Materials.Length} materials; use {OptionPath.SynthLibrary} for more");
            return EndmemberSet.FromSpectra(SyntheticSpectra.Create(o.EndmemberCount, wl), SyntheticSpectra.Materials.Take(o.EndmemberCount).ToArray(), wl);
        }
        var lib = EndmemberFiles.LoadLibrary(o.Library);
        if (lib.Wavelengths is null) throw new EndmemberFileException(o.Library, "has no wavelength column");
        var set = o.LibraryNames.Count > 0 ? lib.Select(o.LibraryNames) : PickDistinct(lib, o.EndmemberCount, o.Scene.Seed);
        if (o.Bands is not { } k) return set;
        if (k < 2 || k > set.Bands) throw new UsageException(OptionPath.SynthBands, $"{OptionPath.SynthBands} {k}: {o.Library} has {set.Bands} bands; take 2 to {set.Bands} of them");
        // k bands evenly spaced over the library's (a coarser sensor over the same range).
        return set.SelectBands(Enumerable.Range(0, k).Select(i => (int)Math.Round(i * (set.Bands - 1.0) / (k - 1))).ToArray());
    }

    /// <summary>P spectra drawn from a library with a seed, each at least 0.15 rad from the others.</summary>
    public static EndmemberSet PickDistinct(SpectralLibrary lib, int p, long seed)
    {
        var rng = new Unmixing.LinearAlgebra.Rng(seed);
        var chosen = new List<int>();
        for (var tries = 0; chosen.Count < p && tries < 100000; tries++)
        {
            var c = rng.Next(lib.Count);
            if (chosen.All(k => Unmixing.Metrics.UnmixingMetrics.Sad(lib.Spectra[k], lib.Spectra[c]) > 0.15)) chosen.Add(c);
        }
        if (chosen.Count < p) throw new EndmemberFileException(lib.Path, $"has fewer than {p} mutually distinct spectra");
        return lib.SelectIndices(chosen);
    }

    /// <summary>A GeoJSON (WGS 84) polygon with a hole over part of a scene, made from pixel-space rings.</summary>
    public static void WriteRoiGeoJson(string path, RasterInfo scene, IReadOnlyList<(double Col, double Row)[]> rings, bool overwrite)
    {
        if (File.Exists(path) && !overwrite) throw new RasterOutputException(path, $"already exists (use {OptionPath.SynthOverwrite} to replace it)");
        var gt = scene.GeoTransform ?? throw new RasterDataException(scene.Path, "has no georeferencing");
        using var from = SpatialReference.FromUserInput(scene.CrsWkt);
        using var to = SpatialReference.FromUserInput("EPSG:4326");
        using var ct = new CoordinateTransformation(from, to);
        var sb = new StringBuilder("{\"type\":\"FeatureCollection\",\"name\":\"roi\",\"features\":[{\"type\":\"Feature\",\"properties\":{\"id\":1,\"name\":\"study area\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[");
        for (var k = 0; k < rings.Count; k++)
        {
            var ring = rings[k];
            var x = ring.Select(p => gt[0] + p.Col * gt[1]).ToArray();
            var y = ring.Select(p => gt[3] + p.Row * gt[5]).ToArray();
            ct.Transform(x, y);
            sb.Append(k > 0 ? ",[" : "[");
            sb.Append(string.Join(",", x.Select((v, i) => string.Create(CultureInfo.InvariantCulture, $"[{v:R},{y[i]:R}]"))));
            sb.Append(']');
        }
        sb.Append("]}}]}\n");
        EndmemberFiles.WriteAtomically(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
