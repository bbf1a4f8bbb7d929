using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline.Tests;

[Collection("sample")]
public sealed class UnmixJobTests(SampleScene s)
{
    private static float[] ReadAll(string path)
    {
        using var src = RasterSource.Open(path);
        var n = (int)src.Extent.Area;
        var buf = new float[src.Info.BandCount * n];
        src.Read(src.Extent, src.AllBands, buf, new byte[n]);
        return buf;
    }

    [Fact]
    public void Run_DefaultOnSampleScene_RecoversGroundTruth()
    {
        var dir = s.NewDir();
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif }, Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif"), TruthAbundances = s.Truth, TruthEndmembers = s.TruthEndmembers } });
        Assert.Equal(4, r.Endmembers.Count);
        Assert.Equal(4, r.Estimate!.Count); // HySime found P
        var score = Evaluation.Score(r.Output, s.Truth, s.TruthEndmembers, r.Endmembers);
        Assert.True(score.MeanSadRadians < 0.02, $"mean SAD {score.MeanSadRadians}");
        Assert.True(score.AbundanceRmse < 0.02, $"abundance RMSE {score.AbundanceRmse}");
        // 78 nodata pixels in the generated corner stay nodata; the rest is unmixed.
        Assert.Equal(8000 - 78, r.ValidPixels);
        foreach (var f in r.SideOutputs) Assert.True(File.Exists(f), f);
        // Every stage's time reaches the result (and the report), the side outputs' included.
        Assert.Equal(["open", "endmembers", "brightness", "fit", "unmix", "side outputs"], r.StageSeconds.Keys);
        // No shading in the sample scene: the brightness test keeps the plain model.
        Assert.Equal(Unmixing.Solvers.PixelScale.None, r.Brightness!.Scale);
        var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "a.report.json"))).RootElement;
        Assert.True(report.GetProperty("seconds").TryGetProperty("side outputs", out _), report.GetProperty("seconds").ToString());
    }

    /// <summary>
    /// The deep fit's nonlinearity decision travels in the plan: a scene planned once and assembled from its tiles
    /// elsewhere (cluster mode) reports it like a local run (it was missing from such reports).
    /// </summary>
    [Fact]
    public void Plan_CarriesTheNonlinearityDecision()
    {
        var dir = s.NewDir();
        var plan = UnmixJob.PlanScene(new UnmixOptions
        {
            Scene = new SceneInput { Input = s.Tif },
            Endmembers = new EndmemberOptions { EndmemberCount = 4 },
            Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif"), SideOutputs = false },
        }, dir);
        var loaded = UnmixPlan.Load(plan.ToJson(), "plan.json");
        Assert.NotNull(loaded.Fit?.Test);
        Assert.Equal(plan.Fit!.Test, loaded.Fit!.Test);
        // The sample scene is a linear mixture: the network is not kept.
        Assert.False(loaded.Fit.Test.Kept, loaded.Fit.Test.Reason);
        Assert.Null(loaded.Fit.Test.NetworkPixels);
        // A kept network's pixel count travels too (an init-only property, not a constructor parameter).
        var kept = new Unmixing.Deep.NonlinearityTest(1e-4, 2e-4, -9.5, 900, true) { NetworkPixels = 337 };
        var back = System.Text.Json.JsonSerializer.Deserialize<Unmixing.Deep.NonlinearityTest>(
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(kept, UnmixPlan.JsonOptions), UnmixPlan.JsonOptions);
        Assert.Equal(kept, back);
        Assert.Contains("337 of 900 held-out pixels", back!.Reason);
    }

    /// <summary>
    /// A plan of another format version (version 1 held the options flat, with the planning machine's threads and
    /// memory; version 2 could name an exhaustive fit's abundances) is refused by its version before its shape is read: an old plan file must say what it is.
    /// </summary>
    [Fact]
    public void PlanFiles_OfAnotherVersion_AreRefusedByTheirVersion()
    {
        var dir = s.NewDir();
        var old = Path.Combine(dir, "old.plan.json");
        File.WriteAllText(old, """{"Version":1,"Options":{"Input":"scene.tif","Output":"a.tif","Threads":8,"MemoryBytes":1073741824}}""");
        var e = Assert.Throws<Raster.RasterDataException>(() => UnmixPlan.Load(old));
        Assert.Contains("plan version 1 is not supported (this version reads 3)", e.Message);
        Assert.Contains("old.plan.json", e.Message);
        // Version 2 named a fitted-abundance file whose pixels kept the fit's values: its tiles would differ from ours.
        File.WriteAllText(old, """{"Version":2,"Options":{"Scene":{"Input":"scene.tif"}},"FittedFile":"fitted.bin"}""");
        Assert.Contains("plan version 2 is not supported (this version reads 3)", Assert.Throws<Raster.RasterDataException>(() => UnmixPlan.Load(old)).Message);
        File.WriteAllText(old, """{"Kind":"mesma","Version":1,"Options":{"Scene":{"Input":"scene.tif"}}}""");
        Assert.Contains("MESMA plan version 1 is not supported", Assert.Throws<Raster.RasterDataException>(() => MesmaPlan.Load(old)).Message);
        File.WriteAllText(old, "not json");
        Assert.Contains("is not a plan file", Assert.Throws<Raster.RasterDataException>(() => UnmixPlan.Load(old)).Message);
    }

    [Trait("Category", "Determinism")]
    [Fact]
    public void Run_DifferentTilesThreadsAndMemory_GiveIdenticalBytes()
    {
        var dir = s.NewDir();
        float[]? reference = null;
        foreach (var (tile, threads, memory) in new[] { (256, 1, 1024), (16, 2, 1024), (48, 2, 16), (100, 2, 64) })
        {
            var o = Path.Combine(dir, $"t{tile}-{threads}-{memory}.tif");
            UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Img }, Outputs = new OutputOptions { Output = o, SideOutputs = false }, Execution = new ExecutionOptions { TileSize = tile, Threads = threads, MemoryBytes = (long)memory << 20 } });
            var data = ReadAll(o);
            if (reference is null) reference = data;
            else Assert.Equal(reference, data);
        }
    }

    [Trait("Category", "Determinism")]
    [Fact]
    public void Run_DeepModelAppliedPerTile_GivesIdenticalBytesForAnyTilesAndThreads()
    {
        // Fitting on 2000 of the 7922 valid pixels makes every pixel go through the per-tile apply step.
        var dir = s.NewDir();
        var mtl = new Unmixing.Deep.MtlOptions { MaxEpochs = 15 };
        float[]? reference = null;
        foreach (var (tile, threads) in new[] { (256, 1), (40, 2) })
        {
            var o = Path.Combine(dir, $"t{tile}-{threads}.tif");
            var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif }, Method = new MethodOptions { FitPixels = 2000, Mtl = mtl }, Outputs = new OutputOptions { Output = o, SideOutputs = tile == 256 }, Execution = new ExecutionOptions { TileSize = tile, Threads = threads } });
            Assert.Equal(2000, r.Fit!.Pixels);
            var data = ReadAll(o);
            if (reference is null) reference = data;
            else Assert.Equal(reference, data);
        }
        // The saved model applied to the ENVI copy of the scene gives the same abundances again.
        var applied = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Img }, Method = new MethodOptions { ModelFile = Path.Combine(dir, "t256-1.model.json") }, Outputs = new OutputOptions { Output = Path.Combine(dir, "applied.tif"), SideOutputs = false } });
        Assert.Null(applied.Fit);
        Assert.Equal(reference, ReadAll(applied.Output));
    }

    [Fact]
    public void Run_ModelOfAnotherBandSelection_IsRefused()
    {
        var dir = s.NewDir();
        UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif }, Method = new MethodOptions { Mtl = new Unmixing.Deep.MtlOptions { MaxEpochs = 5 } }, Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif") } });
        var e = Assert.Throws<Unmixing.Deep.MtlModelException>(() => UnmixJob.Run(new UnmixOptions
        {
            Scene = new SceneInput { Input = s.Tif, Bands = Enumerable.Range(0, 60).ToArray() },
            Method = new MethodOptions { ModelFile = Path.Combine(dir, "a.model.json") },
            Outputs = new OutputOptions { Output = Path.Combine(dir, "b.tif") },
        }));
        // The model was fitted on the 54 bands the screening kept (64 less the absorption windows).
        Assert.Contains("54 bands", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, "b.tif")));
    }

    [Fact]
    public void Run_BandSelectionWithFullBandEndmembers_UsesTheSameBandsOfTheSpectra()
    {
        var dir = s.NewDir();
        int[] bands = [.. Enumerable.Range(0, 30), .. Enumerable.Range(40, 24)];
        var r = UnmixJob.Run(new UnmixOptions
        {
            Scene = new SceneInput { Input = s.Tif, Bands = bands, DropAbsorptionBands = false },
            Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers },
            Method = new MethodOptions { Name = UnmixMethod.Fcls },
            Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif"), SideOutputs = false },
        });
        Assert.Equal(54, r.Endmembers.Bands);
        Assert.Equal(Unmixing.Synthetic.SyntheticSpectra.Wavelengths(64)[40], r.Endmembers.Wavelengths![30], 1e-3);
        // The true spectra on the kept bands still unmix the scene almost exactly.
        Assert.True(Evaluation.Score(r.Output, s.Truth, null, null).AbundanceRmse < 0.01);
    }

    /// <summary>
    /// Tiles are read in the file's own layout (pixel-interleaved strips straight from the file, band-sequential
    /// strips, whole tiles through GDAL): every layout and reader gives the same bytes, with nodata pixels and a
    /// region of interest, on tiles that line up with the files' blocks and tiles that do not.
    /// </summary>
    [Theory]
    [InlineData(UnmixMethod.Fcls)]
    [InlineData(UnmixMethod.Ucls)]
    public void Run_EveryFileLayoutAndReader_GivesIdenticalAbundances(string method)
    {
        var dir = s.NewDir();
        (string Name, string[] Options)[] layouts =
        [
            ("bil.img", ["-of", "ENVI", "-co", "INTERLEAVE=BIL"]),
            ("bip.img", ["-of", "ENVI", "-co", "INTERLEAVE=BIP"]),
            ("pixel.tif", ["-co", "TILED=YES", "-co", "INTERLEAVE=PIXEL", "-co", "BLOCKXSIZE=32", "-co", "BLOCKYSIZE=32"]),
            ("band.tif", ["-co", "TILED=YES", "-co", "INTERLEAVE=BAND", "-co", "BLOCKXSIZE=32", "-co", "BLOCKYSIZE=32"]),
            // Blocks the size of the tiles: a strip's rows of a block are read at once.
            ("band48.tif", ["-co", "TILED=YES", "-co", "INTERLEAVE=BAND", "-co", "BLOCKXSIZE=48", "-co", "BLOCKYSIZE=48"]),
            ("pixel48.tif", ["-co", "TILED=YES", "-co", "INTERLEAVE=PIXEL", "-co", "BLOCKXSIZE=48", "-co", "BLOCKYSIZE=48"]),
            ("strips.tif", ["-co", "INTERLEAVE=BAND", "-co", "BLOCKYSIZE=7"]),
            ("deflate.tif", ["-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", "-co", "INTERLEAVE=PIXEL"]),
        ];
        var inputs = new List<(string Path, bool Gdal)> { (s.Tif, false), (s.Img, false), (s.Img, true) };
        foreach (var (name, options) in layouts)
        {
            var path = Path.Combine(dir, name);
            SampleScene.Tool("gdal_translate", [.. options, s.Img, path]);
            inputs.Add((path, false));
        }
        foreach (var roi in new[] { null, s.Roi })
        {
            float[]? reference = null;
            string? first = null;
            foreach (var (input, gdal) in inputs)
            {
                var o = Path.Combine(dir, $"{Path.GetFileName(input)}-{gdal}-{roi is null}.tif");
                var r = UnmixJob.Run(new UnmixOptions
                {
                    Scene = new SceneInput { Input = input, ForceGdalReader = gdal, Roi = roi, InputNoData = -9999 },
                    Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers },
                    Method = new MethodOptions { Name = method },
                    Outputs = new OutputOptions { Output = o, SideOutputs = false },
                    Execution = new ExecutionOptions { TileSize = 48, Threads = 2 },
                });
                if (input != s.Tif)
                    Assert.Equal(gdal || input.EndsWith("deflate.tif", StringComparison.Ordinal), r.ReadPath.StartsWith("GDAL", StringComparison.Ordinal));
                var data = ReadAll(o);
                if (reference is null) (reference, first) = (data, input);
                else Assert.True(reference.AsSpan().SequenceEqual(data), $"{input} (GDAL reader: {gdal}, ROI: {roi is not null}) differs from {first}");
            }
        }
    }

    [Theory]
    [InlineData(UnmixMethod.Fcls)]
    [InlineData(UnmixMethod.Nnls)]
    [InlineData(UnmixMethod.Scls)]
    [InlineData(UnmixMethod.Ucls)]
    public void Run_EachMethodWithTrueEndmembers_RespectsItsConstraints(string method)
    {
        var dir = s.NewDir();
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif }, Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers }, Method = new MethodOptions { Name = method }, Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif"), SideOutputs = false } });
        using var src = RasterSource.Open(r.Output);
        var n = (int)src.Extent.Area;
        var buf = new float[5 * n];
        var valid = new byte[n];
        src.Read(src.Extent, src.AllBands, buf, valid);
        for (var px = 0; px < n; px++)
        {
            if (valid[px] == 0) continue;
            var sum = 0.0;
            for (var j = 0; j < 4; j++)
            {
                var v = buf[j * n + px];
                sum += v;
                if (method is UnmixMethod.Fcls or UnmixMethod.Nnls) Assert.True(v >= 0, $"{method} gave {v}");
            }
            if (method is UnmixMethod.Fcls or UnmixMethod.Scls) Assert.Equal(1.0, sum, 1e-5);
        }
    }

    [Fact]
    public void Run_IntermediateFailure_LeavesNoOutputs()
    {
        var dir = s.NewDir();
        var o = Path.Combine(dir, "a.tif");
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif }, Outputs = new OutputOptions { Output = o }, Execution = new ExecutionOptions { TileSize = 16, Threads = 1 } },
            (stage, f) => { if (stage == "unmix" && f > 0.3) cts.Cancel(); }, cts.Token));
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Run_PLargerThanBands_AndNoValidPixel_AreClearErrors()
    {
        var dir = s.NewDir();
        var e = Assert.Throws<UsageException>(() => UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif }, Endmembers = new EndmemberOptions { EndmemberCount = 65 }, Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif") } }));
        Assert.Contains("larger than the number of bands", e.Message);
        var empty = WriteAllNoData(dir);
        var d = Assert.Throws<RasterDataException>(() => UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = empty }, Endmembers = new EndmemberOptions { EndmemberCount = 2 }, Outputs = new OutputOptions { Output = Path.Combine(dir, "b.tif") } }));
        Assert.Contains("no valid pixel", d.Message);
        Assert.Equal([empty], Directory.GetFiles(dir));
    }

    private static string WriteAllNoData(string dir)
    {
        var path = Path.Combine(dir, "nodata.tif");
        var profile = new RasterProfile { Width = 20, Height = 10, BandNames = ["a", "b", "c"], NoData = -1 };
        SceneFiles.WriteCube(path, RasterFormat.GTiff, Enumerable.Repeat(-1f, 600).ToArray(), profile, null, false);
        return path;
    }
}

/// <summary>
/// A dark material without shading (the brightness-table scene: Magnetite HS78.3B, mean reflectance 0.047, with two
/// bright clays, 30 dB): the plain model's physical fractions need each endmember at the material's brightness.
/// The refinement's own brightness (the mean length of the pixels it combines) made the Magnetite endmember about
/// twice too bright and cost the fractions (aRMSE 6.54); at the extracted pixel's brightness, 1.05.
/// </summary>
[Collection("sample")]
public sealed class DarkMaterialBrightnessTests(SampleScene s)
{
    [Fact]
    public void PlainModel_EndmembersAtTheirPixelsBrightness_KeepTheDarkMaterialsFractions()
    {
        var dir = s.NewDir();
        var synth = SyntheticSceneWriter.Write(new SynthOptions
        {
            Output = Path.Combine(dir, "dark.tif"),
            Library = Repo.Dataset("usgs_library/usgs_1995_library_aviris224.csv"),
            LibraryNames = ["Magnetite HS78.3B", "Kaolinite CM9", "Montmorillonite SWy-1"],
            EndmemberCount = 3,
            Scene = new Unmixing.Synthetic.SceneOptions { Width = 100, Height = 100, SnrDb = 30, Seed = 1 },
        });
        var r = UnmixJob.Run(new UnmixOptions
        {
            Scene = new SceneInput { Input = synth.Cube },
            Endmembers = new EndmemberOptions { EndmemberCount = 3 },
            Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif"), TruthAbundances = synth.Abundances, TruthEndmembers = synth.Endmembers, SideOutputs = false },
        });
        Assert.Equal(PixelScale.None, r.Brightness!.Scale);
        Assert.Contains("at the extracted pixels' brightness", r.EndmemberSource);
        // The darkest endmember at Magnetite's brightness (its mean over the bands used), not twice it.
        var truth = synth.Truth.Spectrum(0).Average();
        var darkest = Enumerable.Range(0, r.Endmembers.Count).Min(j => r.Endmembers.Spectrum(j).Average());
        Assert.InRange(darkest / truth, 0.8, 1.3);
        var score = Evaluation.Score(r.Output, synth.Abundances, synth.Endmembers, r.Endmembers, matchBy: MatchBy.Abundance);
        Assert.True(score.AbundanceRmse < 0.02, $"aRMSE {score.AbundanceRmse}");
    }
}
