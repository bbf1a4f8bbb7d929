using System.Globalization;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>hyperunmix library from-roi on a real EnMAP tile with polygons drawn on its pixel edges.</summary>
public sealed class LibraryCommandTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static string Tile => CliRunner.Dataset("enmap_potsdam/enmap_potsdam_tile_64_0.tif");

    /// <summary>Rectangles (col0, row0, col1, row1 in pixel edges) in the tile's UTM CRS, each with a class.</summary>
    private string Polygons(params (int C0, int R0, int C1, int R1, string Cls)[] rects)
    {
        using var src = RasterSource.Open(Tile);
        var gt = src.Info.GeoTransform!;
        string P(int c, int r) => string.Create(CultureInfo.InvariantCulture, $"[{gt[0] + c * gt[1]},{gt[3] + r * gt[5]}]");
        var features = rects.Select(t => $"{{\"type\":\"Feature\",\"properties\":{{\"cover\":\"{t.Cls}\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{P(t.C0, t.R0)},{P(t.C1, t.R0)},{P(t.C1, t.R1)},{P(t.C0, t.R1)},{P(t.C0, t.R0)}]]}}}}");
        var path = _cli.Path("polygons.geojson");
        File.WriteAllText(path, "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::32633\"}},\"features\":[" + string.Join(",", features) + "]}");
        return path;
    }

    [Fact]
    public void MeanPerPolygon_IsTheMeanOfItsPixels_InReflectance_AndMesmaReadsTheLibrary()
    {
        var roi = Polygons((2, 2, 8, 8, "park"), (20, 2, 28, 8, "park"), (10, 20, 18, 28, "built"));
        var (code, stdout, err) = _cli.Run("library", "from-roi", Tile, "--roi", roi, "--class-field", "cover", "-o", _cli.Path("lib.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("3 spectra", stdout);
        var lib = SpectralLibraries.Read(_cli.Path("lib.csv"));
        Assert.Equal(["park", "park", "built"], lib.Classes["cover"]);
        // Independently: the 6 x 6 pixels of the first rectangle, read with the file's 0.0001 band scale.
        using (var src = RasterSource.Open(Tile))
        {
            var w = new Window(2, 2, 6, 6);
            var y = new float[src.Info.BandCount * 36];
            var ok = new byte[src.Info.BandCount * 36];
            src.ReadSamples(w, src.AllBands, y, ok);
            // Bands 130-135 are nodata everywhere in this product: left out of the library, the others kept.
            Assert.Equal(src.Info.BandCount - 6, lib.Bands);
            Assert.DoesNotContain(src.Info.Wavelengths![129], lib.Wavelengths!);
            for (var b = 0; b < src.Info.BandCount; b += 17)
            {
                var j = Array.IndexOf(lib.Wavelengths!, src.Info.Wavelengths[b]);
                if (b is >= 129 and <= 134) { Assert.Equal(-1, j); continue; }
                Assert.True(j >= 0);
                Assert.Equal(Enumerable.Range(0, 36).Average(k => (double)y[b * 36 + k]), lib.Spectra[0][j], 1e-6);
            }
        }
        var every = _cli.Run("library", "from-roi", Tile, "--roi", roi, "--class-field", "cover", "--every-pixel", "-o", _cli.Path("px.csv"));
        Assert.True(every.Code == 0, every.Err);
        Assert.Equal(36 + 48 + 64, SpectralLibraries.Read(_cli.Path("px.csv")).Count);
        var mesma = _cli.Run("mesma", Tile, "--library", _cli.Path("lib.csv"), "--levels", "1,2", "-o", _cli.Path("f.tif"));
        Assert.True(mesma.Code == 0, mesma.Err);
        Assert.Contains("2 classes of 'cover' (park, built)", mesma.Out);
        // Sampled at the scene's own bands: taken as they are, no resampling.
        Assert.Contains("resampling: none (the library has every scene band", mesma.Out);
    }

    /// <summary>Features of the given GeoJSON geometry type, coordinates at pixel centres (col + 0.5, row + 0.5) in the tile's UTM CRS.</summary>
    private string Features(string name, params (string Type, (double C, double R)[] At, string Cls)[] features)
    {
        using var src = RasterSource.Open(Tile);
        var gt = src.Info.GeoTransform!;
        string P((double C, double R) p) => string.Create(CultureInfo.InvariantCulture, $"[{gt[0] + (p.C + 0.5) * gt[1]},{gt[3] + (p.R + 0.5) * gt[5]}]");
        string Geometry(string type, (double, double)[] at) => type == "Point" ? P(at[0]) : "[" + string.Join(",", at.Select(P)) + "]";
        var json = features.Select(f => $"{{\"type\":\"Feature\",\"properties\":{{\"cover\":\"{f.Cls}\"}},\"geometry\":{{\"type\":\"{f.Type}\",\"coordinates\":{Geometry(f.Type, f.At)}}}}}");
        var path = _cli.Path(name);
        File.WriteAllText(path, "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::32633\"}},\"features\":[" + string.Join(",", json) + "]}");
        return path;
    }

    [Fact]
    public void Points_MeanOfTheWindowAroundEachPoint_MultiPointsPooled_OutsideAndLinesRefused()
    {
        var roi = Features("points.geojson", ("Point", [(5, 5)], "park"), ("MultiPoint", [(20, 20), (30, 22)], "built"));
        var (code, stdout, err) = _cli.Run("library", "from-roi", Tile, "--roi", roi, "--class-field", "cover", "--point-window", "3", "-o", _cli.Path("pts.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("2 spectra", stdout);
        var lib = SpectralLibraries.Read(_cli.Path("pts.csv"));
        Assert.Equal(["park", "built"], lib.Classes["cover"]);
        // Independently: the 3 x 3 windows centred on the points' pixels, read with the file's band scale.
        using (var src = RasterSource.Open(Tile))
        {
            double[] Mean(params (int C, int R)[] centres)
            {
                var sum = new double[src.Info.BandCount];
                foreach (var (c, r) in centres)
                {
                    var y = new float[src.Info.BandCount * 9];
                    src.ReadSamples(new Window(c - 1, r - 1, 3, 3), src.AllBands, y, new byte[y.Length]);
                    for (var b = 0; b < sum.Length; b++) sum[b] += Enumerable.Range(0, 9).Sum(k => (double)y[b * 9 + k]);
                }
                return sum.Select(v => v / (9 * centres.Length)).ToArray();
            }
            var park = Mean((5, 5));
            var built = Mean((20, 20), (30, 22));
            for (var b = 0; b < src.Info.BandCount; b += 13)
            {
                var j = Array.IndexOf(lib.Wavelengths!, src.Info.Wavelengths![b]);
                if (j < 0) continue; // a band that is nodata in this product
                Assert.Equal(park[b], lib.Spectra[0][j], 1e-6);
                Assert.Equal(built[b], lib.Spectra[1][j], 1e-6);
            }
        }
        // --every-pixel: one spectrum per pixel of the windows (9 + 18).
        var every = _cli.Run("library", "from-roi", Tile, "--roi", roi, "--class-field", "cover", "--point-window", "3", "--every-pixel", "-o", _cli.Path("px.csv"));
        Assert.True(every.Code == 0, every.Err);
        Assert.Equal(27, SpectralLibraries.Read(_cli.Path("px.csv")).Count);

        var outside = Features("outside.geojson", ("Point", [(5, 5)], "park"), ("Point", [(5, 5000)], "park"));
        var o = _cli.Run("library", "from-roi", Tile, "--roi", outside, "--class-field", "cover", "-o", _cli.Path("o.csv"));
        Assert.Equal(3, o.Code);
        Assert.Contains("feature 1: the point", o.Err);
        Assert.Contains("lies outside the scene", o.Err);
        var line = Features("line.geojson", ("LineString", [(5, 5), (9, 9)], "road"));
        var l = _cli.Run("library", "from-roi", Tile, "--roi", line, "--class-field", "cover", "-o", _cli.Path("l.csv"));
        Assert.Equal(3, l.Code);
        Assert.Contains("feature 0 is a LineString: spectra are collected in polygons or at points", l.Err);
        var even = _cli.Run("library", "from-roi", Tile, "--roi", roi, "--class-field", "cover", "--point-window", "2", "-o", _cli.Path("e.csv"));
        Assert.Equal(2, even.Code);
        Assert.Contains("--point-window must be an odd number", even.Err);
        Assert.False(File.Exists(_cli.Path("o.csv")) || File.Exists(_cli.Path("l.csv")) || File.Exists(_cli.Path("e.csv")));
    }

    /// <summary>
    /// Points in the scene's UTM coordinates in a GeoJSON without a "crs" member (GeoJSON then means WGS 84): refused with
    /// the way out named, and read as the scene's coordinates with --roi-assume-scene-crs, as mesma's --roi is.
    /// </summary>
    [Fact]
    public void PointsWithoutACrs_AreRefusedNamingTheOption_AndReadInTheScenesCrsWithIt()
    {
        // The same GeoJSON without its "crs" member (it sits right before "features").
        static void StripCrs(string from, string to)
        {
            var json = File.ReadAllText(from);
            File.WriteAllText(to, json[..json.IndexOf("\"crs\":", StringComparison.Ordinal)] + json[json.IndexOf("\"features\":", StringComparison.Ordinal)..]);
            Assert.DoesNotContain("crs", File.ReadAllText(to));
        }
        var withCrs = Features("crs.geojson", ("Point", [(5, 5)], "park"), ("Point", [(14, 24)], "built"));
        var noCrs = _cli.Path("nocrs.geojson");
        StripCrs(withCrs, noCrs);
        var refused = _cli.Run("library", "from-roi", Tile, "--roi", noCrs, "--class-field", "cover", "-o", _cli.Path("n.csv"));
        Assert.Equal(3, refused.Code);
        Assert.Contains("pass --roi-assume-scene-crs", refused.Err);
        Assert.False(File.Exists(_cli.Path("n.csv")));
        var assumed = _cli.Run("library", "from-roi", Tile, "--roi", noCrs, "--class-field", "cover", "--roi-assume-scene-crs", "-o", _cli.Path("n.csv"));
        Assert.True(assumed.Code == 0, assumed.Err);
        Assert.Equal(0, _cli.Run("library", "from-roi", Tile, "--roi", withCrs, "--class-field", "cover", "-o", _cli.Path("c.csv")).Code);
        Assert.Equal(SpectralLibraries.Read(_cli.Path("c.csv")).Spectra, SpectralLibraries.Read(_cli.Path("n.csv")).Spectra);
        // mesma takes the option too.
        var polygons = Polygons((2, 2, 8, 8, "park"));
        StripCrs(polygons, polygons);
        var m = _cli.Run("mesma", Tile, "--library", CliRunner.Dataset("spectral_libraries/enmapbox_berlin/library_berlin.sli"), "--drop-uncovered-bands",
            "--levels", "1", "--roi", polygons, "--roi-assume-scene-crs", "-o", _cli.Path("m.tif"));
        Assert.True(m.Code == 0, m.Err);
        Assert.Contains("MESMA: 36 pixels", m.Out);
    }

    [Fact]
    public void Prune_KeepsTheBestPerClass_AndMesmaRunsOnThePrunedLibrary()
    {
        var berlin = CliRunner.Dataset("spectral_libraries/enmapbox_berlin/library_berlin.sli");
        var (code, stdout, err) = _cli.Run("library", "prune", berlin, "--class-field", "level_1", "--criterion", "ear", "--per-class", "3", "-o", _cli.Path("p.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("11 of 75 spectra kept by EAR (impervious 3, vegetation 3, soil 3, water 2 in 'level_1')", stdout);
        var pruned = SpectralLibraries.Read(_cli.Path("p.csv"));
        var full = SpectralLibraries.Read(berlin);
        // The kept spectra are the library's own, with their classes in every field.
        foreach (var (name, j) in pruned.Names.Select((n, j) => (n, j)))
        {
            var i = Array.IndexOf(full.Names, name);
            Assert.Equal(full.Spectra[i], pruned.Spectra[j]);
            Assert.Equal(full.Classes["level_3"][i], pruned.Classes["level_3"][j]);
        }
        var mesma = _cli.Run("mesma", Tile, "--library", _cli.Path("p.csv"), "--drop-uncovered-bands", "-o", _cli.Path("f.tif"));
        Assert.True(mesma.Code == 0, mesma.Err);
        Assert.Contains("models: 126 ", mesma.Out);
    }

    [Fact]
    public void LayerWithoutTheClassField_GetsOneLine_AndNothingWritten()
    {
        var roi = Polygons((2, 2, 8, 8, "park"));
        var (code, _, err) = _cli.Run("library", "from-roi", Tile, "--roi", roi, "--class-field", "landuse", "-o", _cli.Path("lib.csv"));
        Assert.Equal(3, code);
        Assert.Contains("has no field 'landuse' (it has: cover)", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists(_cli.Path("lib.csv")));
    }
}
