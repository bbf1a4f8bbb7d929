using System.Globalization;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// hyperunmix mesma on a real EnMAP L2A tile (../shared/datasets/enmap_potsdam: 224 bands, reflectance x 10000 with
/// a 0.0001 band scale) with the Berlin library (177 EnMAP bands in µm, level_1 classes), as a user runs it.
/// </summary>
public sealed class MesmaCommandTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static string Tile => CliRunner.Dataset("enmap_potsdam/enmap_potsdam_tile_64_0.tif");
    private static string Library(string ext = ".sli") => CliRunner.Dataset("spectral_libraries/enmapbox_berlin/library_berlin" + ext);

    /// <summary>Every band, and which pixels have no nodata band (an unmodelled pixel has nodata fractions).</summary>
    private static float[] ReadAll(string path, out RasterInfo info, out byte[] valid)
    {
        using var src = RasterSource.Open(path);
        info = src.Info;
        var n = info.Width * info.Height;
        var data = new float[info.BandCount * n];
        valid = new byte[n];
        src.Read(src.Extent, src.AllBands, data, valid);
        return data;
    }

    [Fact]
    public void BerlinLibrary_OnAnEnmapTile_GivesGeoreferencedLevel1Fractions_WithinTheConstraints()
    {
        var (code, stdout, err) = _cli.Run("mesma", Tile, "--library", Library(), "--class-field", "level_1", "--drop-uncovered-bands", "-o", _cli.Path("f.tif"));
        Assert.True(code == 0, err);
        Assert.Contains("4 classes of 'level_1'", stdout);
        Assert.Contains("gaussian spectral response", stdout);
        var data = ReadAll(_cli.Path("f.tif"), out var info, out var valid);
        Assert.Equal(["impervious", "vegetation", "soil", "water", "shade", "rmse", "model"], info.BandNames);
        using (var input = RasterSource.Open(Tile))
        {
            Assert.Equal(input.Info.GeoTransform, info.GeoTransform);
            Assert.Equal(input.Info.Epsg, info.Epsg);
        }
        Assert.Equal(-9999, info.NoData[0]);
        var n = info.Width * info.Height;
        var table = File.ReadAllLines(_cli.Path("f.models.csv"));
        Assert.StartsWith("model,level,class_1,spectrum_1", table[0]);
        Assert.True(File.Exists(_cli.Path("f.qml")));
        int modelled = 0, vegetated = 0;
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) continue;
            var model = data[6 * n + k];
            Assert.True(model >= 0);
            modelled++;
            double sum = 0;
            for (var c = 0; c < 4; c++)
            {
                Assert.InRange(data[c * n + k], -0.05f - 1e-6f, 1.05f + 1e-6f);
                sum += data[c * n + k];
            }
            Assert.InRange(data[4 * n + k], -1e-6, 0.8 + 1e-6);
            Assert.Equal(1 - sum, data[4 * n + k], 1e-5);
            Assert.InRange(data[5 * n + k], 0, 0.025 + 1e-7);
            // The model's row names the classes that have non-zero fractions.
            var row = table[(int)model + 1].Split(',');
            var classes = Enumerable.Range(0, int.Parse(row[1], CultureInfo.InvariantCulture)).Select(a => row[2 + 2 * a]).ToHashSet();
            foreach (var (name, c) in new[] { ("impervious", 0), ("vegetation", 1), ("soil", 2), ("water", 3) })
                if (!classes.Contains(name)) Assert.Equal(0, data[c * n + k]);
            if (data[n + k] > 0.5) vegetated++;
        }
        // Potsdam's tile 64_0 is mostly park and forest: most pixels fit, most of them mostly vegetation.
        Assert.True(modelled > 0.9 * n, $"{modelled} of {n} pixels modelled");
        Assert.True(vegetated > 0.5 * modelled, $"{vegetated} of {modelled} modelled pixels mostly vegetation");
    }

    [Fact]
    public void SamePixelBits_WhateverTheTileSizeAndThreads_AndTheGeoPackageLibraryGivesTheSameFractions()
    {
        var a = _cli.Run("mesma", Tile, "--library", Library(), "--drop-uncovered-bands", "--tile", "16", "--threads", "1", "-o", _cli.Path("a.tif"));
        Assert.True(a.Code == 0, a.Err);
        var b = _cli.Run("mesma", Tile, "--library", Library(), "--drop-uncovered-bands", "--tile", "64", "--threads", "2", "-o", _cli.Path("b.tif"));
        Assert.True(b.Code == 0, b.Err);
        // The pixels' bits (the compressed file's layout follows the order tiles finish in, its values never).
        Assert.Equal(CliRunner.PixelHash(_cli.Path("a.tif")), CliRunner.PixelHash(_cli.Path("b.tif")));
        Assert.Equal(File.ReadAllBytes(_cli.Path("a.models.csv")), File.ReadAllBytes(_cli.Path("b.models.csv")));
        var g = _cli.Run("mesma", Tile, "--library", Library(".gpkg"), "--drop-uncovered-bands", "-o", _cli.Path("g.tif"));
        Assert.True(g.Code == 0, g.Err);
        Assert.Equal(CliRunner.PixelHash(_cli.Path("a.tif")), CliRunner.PixelHash(_cli.Path("g.tif")));
    }

    [Fact]
    public void ShadeNormalisedAndUncertaintyBands_FollowTheFractions()
    {
        var (code, _, err) = _cli.Run("mesma", Tile, "--library", Library(), "--drop-uncovered-bands", "--shade-normalised", "--uncertainty", "0.001", "-o", _cli.Path("u.tif"));
        Assert.True(code == 0, err);
        var data = ReadAll(_cli.Path("u.tif"), out var info, out var valid);
        Assert.Equal(["impervious", "vegetation", "soil", "water", "shade", "rmse", "model",
            "impervious_normalised", "vegetation_normalised", "soil_normalised", "water_normalised",
            "impervious_sd", "vegetation_sd", "soil_sd", "water_sd", "near_models"], info.BandNames);
        var n = info.Width * info.Height;
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) continue;
            var sum = Enumerable.Range(0, 4).Sum(c => (double)data[c * n + k]);
            for (var c = 0; c < 4; c++)
            {
                Assert.Equal(data[c * n + k] / sum, data[(7 + c) * n + k], 1e-5);
                Assert.InRange(data[(11 + c) * n + k], 0, 0.6);
            }
            Assert.True(data[15 * n + k] >= 1);
        }
    }

    /// <summary>
    /// Monte Carlo uncertainty checked against separate runs: each run's library subset (drawn as the settings draw
    /// it) written as a library of its own and unmixed by a separate mesma run; the standard deviation of those runs'
    /// class fractions must be the _mc_sd band, their count mc_runs.
    /// </summary>
    [Fact]
    public void MonteCarloSpread_IsTheSpreadOfSeparateRunsOnTheSubsetLibraries()
    {
        const int runs = 3;
        var (code, stdout, err) = _cli.Run("mesma", Tile, "--library", Library(), "--class-field", "level_1", "--levels", "1,2", "--drop-uncovered-bands",
            "--monte-carlo", $"{runs}", "--monte-carlo-fraction", "0.5", "--seed", "7", "-o", _cli.Path("mc.tif"));
        Assert.True(code == 0, err);
        Assert.Contains("monte carlo: 3 runs of 50% of each class's spectra", stdout);
        var data = ReadAll(_cli.Path("mc.tif"), out var info, out var valid);
        Assert.Equal(["impervious", "vegetation", "soil", "water", "shade", "rmse", "model",
            "impervious_mc_sd", "vegetation_mc_sd", "soil_mc_sd", "water_mc_sd", "mc_runs"], info.BandNames);

        var lib = SpectralLibraries.Read(Library());
        var labels = lib.Classes["level_1"];
        var classes = labels.Distinct().ToArray();
        var subsets = new Unmixing.Mesma.MesmaSettings { MonteCarloRuns = runs, MonteCarloFraction = 0.5, MonteCarloSeed = 7 }
            .MonteCarloSubsets(labels.Select(l => Array.IndexOf(classes, l)).ToArray(), classes.Length);
        var n = info.Width * info.Height;
        var fractions = new List<(float[] Data, byte[] Modelled)>();
        for (var r = 0; r < runs; r++)
        {
            var sub = lib with
            {
                Spectra = subsets[r].Select(i => lib.Spectra[i]).ToArray(),
                Names = subsets[r].Select(i => lib.Names[i]).ToArray(),
                Classes = new Dictionary<string, string[]> { ["level_1"] = subsets[r].Select(i => labels[i]).ToArray() },
            };
            Assert.All(classes, c => Assert.Contains(c, sub.Classes["level_1"]));
            Assert.Equal(classes.Sum(c => (int)Math.Ceiling(0.5 * labels.Count(l => l == c))), sub.Count);
            SpectralLibraries.WriteCsv(_cli.Path($"sub{r}.csv"), sub);
            var one = _cli.Run("mesma", Tile, "--library", _cli.Path($"sub{r}.csv"), "--class-field", "level_1", "--levels", "1,2", "--drop-uncovered-bands", "-o", _cli.Path($"sub{r}.tif"));
            Assert.True(one.Code == 0, one.Err);
            // An unmodelled pixel has nodata fractions: the reader marks it invalid.
            fractions.Add((ReadAll(_cli.Path($"sub{r}.tif"), out var runInfo, out var modelledHere), modelledHere));
            Assert.Equal(info.BandNames!.Take(7), runInfo.BandNames!);
        }
        var checkedPixels = 0;
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) continue;
            var modelled = fractions.Where(f => f.Modelled[k] != 0).Select(f => f.Data).ToList();
            Assert.Equal(modelled.Count, data[11 * n + k]);
            if (modelled.Count == 0) continue;
            checkedPixels++;
            for (var c = 0; c < 4; c++)
            {
                var xs = modelled.Select(f => (double)f[c * n + k]).ToArray();
                var mean = xs.Average();
                var sd = Math.Sqrt(xs.Average(x => (x - mean) * (x - mean)));
                Assert.Equal(sd, data[(7 + c) * n + k], 1e-5);
            }
        }
        Assert.True(checkedPixels > n / 2, $"{checkedPixels} of {n} pixels modelled by a run");
        // The same seed gives the same bytes, whatever the tiles and threads.
        var again = _cli.Run("mesma", Tile, "--library", Library(), "--class-field", "level_1", "--levels", "1,2", "--drop-uncovered-bands",
            "--monte-carlo", $"{runs}", "--monte-carlo-fraction", "0.5", "--seed", "7", "--tile", "16", "--threads", "1", "-o", _cli.Path("mc2.tif"));
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(CliRunner.PixelHash(_cli.Path("mc.tif")), CliRunner.PixelHash(_cli.Path("mc2.tif")));
    }

    [Theory]
    [InlineData(3, "have no library samples near them", new string[0])]
    [InlineData(2, "class 'forest' has no spectra", new[] { "--drop-uncovered-bands", "--classes", "vegetation,forest" })]
    [InlineData(2, "9,220 models for levels 2,3 exceed the limit of 1,000", new[] { "--drop-uncovered-bands", "--max-models", "1000" })]
    // The tile declares its band scale (0.0001): a --scale on top is refused, never applied twice.
    [InlineData(2, "declares its own band scale (x 0.0001)", new[] { "--drop-uncovered-bands", "--scale", "10000" })]
    [InlineData(3, "has no class field 'level_9'", new[] { "--drop-uncovered-bands", "--class-field", "level_9" })]
    [InlineData(3, "not reflectance; state the scale", new[] { "--drop-uncovered-bands", "--library-scale", "1" })]
    public void BadInput_GetsOneLine_AnExitCode_AndNothingWritten(int exit, string message, string[] extra)
    {
        var (code, _, err) = _cli.Run(["mesma", Tile, "--library", Library(), "-o", _cli.Path("x.tif"), .. extra]);
        Assert.Equal(exit, code);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cli.Dir));
    }

    /// <summary>The tile without its declared scale: values x 10000 are not reflectance 0-1 like the library.</summary>
    [Fact]
    public void SceneNotInReflectance_IsRefused_NamingTheScale()
    {
        var unscaled = _cli.Path("unscaled.tif");
        using (var p = System.Diagnostics.Process.Start("gdal_translate", ["-q", "-a_scale", "1", "-a_offset", "0", Tile, unscaled])!) p.WaitForExit();
        var (code, _, err) = _cli.Run(["mesma", unscaled, "--library", Library(), "--drop-uncovered-bands", "-o", _cli.Path("x.tif")]);
        Assert.Equal(3, code);
        Assert.Contains("not reflectance 0-1 like the library", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists(_cli.Path("x.tif")));
    }

    [Fact]
    public void Roi_LeavesPixelsOutsideThePolygonNodata_AndInsideAsTheWholeRun()
    {
        using (var src = RasterSource.Open(Tile))
            SyntheticSceneWriter.WriteRoiGeoJson(_cli.Path("roi.geojson"), src.Info, [[(4.0, 4.0), (20.0, 4.0), (20.0, 14.0), (4.0, 14.0), (4.0, 4.0)]], overwrite: false);
        var whole = _cli.Run("mesma", Tile, "--library", Library(), "--drop-uncovered-bands", "-o", _cli.Path("w.tif"));
        Assert.True(whole.Code == 0, whole.Err);
        var part = _cli.Run("mesma", Tile, "--library", Library(), "--drop-uncovered-bands", "--roi", _cli.Path("roi.geojson"), "-o", _cli.Path("r.tif"));
        Assert.True(part.Code == 0, part.Err);
        // The same bands: the screening of the ROI's pixels keeps what the whole scene's keeps here.
        Assert.Equal(whole.Out.Split('\n').First(l => l.Contains("resampling")), part.Out.Split('\n').First(l => l.Contains("resampling")));
        var w = ReadAll(_cli.Path("w.tif"), out var wi, out _);
        var r = ReadAll(_cli.Path("r.tif"), out var ri, out var rValid);
        // The output is the ROI's window of the scene, shifted by whole pixels.
        var col0 = (int)Math.Round((ri.GeoTransform![0] - wi.GeoTransform![0]) / wi.GeoTransform[1]);
        var row0 = (int)Math.Round((ri.GeoTransform[3] - wi.GeoTransform[3]) / wi.GeoTransform[5]);
        Assert.InRange(col0, 3, 4);
        Assert.InRange(row0, 3, 4);
        Assert.InRange(ri.Width, 16, 17);
        Assert.InRange(ri.Height, 10, 11);
        int nw = wi.Width * wi.Height, nr = ri.Width * ri.Height, inside = 0;
        for (var row = 0; row < ri.Height; row++)
            for (var col = 0; col < ri.Width; col++)
            {
                var k = row * ri.Width + col;
                if (rValid[k] == 0) continue;
                inside++;
                // Inside the polygon, every band equals the whole run's pixel: the same bits.
                for (var b = 0; b < 7; b++) Assert.Equal(w[b * nw + (row + row0) * wi.Width + col + col0], r[b * nr + k]);
            }
        Assert.InRange(inside, 150, 170);
        Assert.True(inside < nr, "no pixel of the window is outside the polygon");
    }

    [Fact]
    public void LibraryWithNoBandInTheScenesRange_IsRefused()
    {
        var lib = _cli.Path("swir.csv");
        File.WriteAllText(lib, "band,wavelength_nm,a,b\n1,3000,0.1,0.2\n2,3010,0.2,0.3\n3,3020,0.3,0.4\n");
        var (code, _, err) = _cli.Run("mesma", Tile, "--library", lib, "-o", _cli.Path("x.tif"));
        Assert.Equal(3, code);
        Assert.Contains("cannot be matched to the scene's", err);
        Assert.Equal([lib], Directory.EnumerateFileSystemEntries(_cli.Dir));
    }
}
