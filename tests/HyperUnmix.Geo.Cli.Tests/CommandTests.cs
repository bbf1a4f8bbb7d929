using System.Text.Json;

namespace HyperUnmix.Geo.Cli.Tests;

public sealed class CommandTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public void Unmix_SampleScene_WritesGeoreferencedNamedBandsWithNodataAndMetadata()
    {
        var o = _cli.Path("a.tif");
        var (code, stdout, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", o,
            "--truth", CliRunner.Sample("scene_abundances.tif"), "--truth-endmembers", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("PROGRESS 100 done", stdout);
        var info = CliRunner.GdalInfo(o);
        var bands = info.GetProperty("bands").EnumerateArray().ToArray();
        Assert.Equal(["EM1", "EM2", "EM3", "EM4", "residual_rmse"], bands.Select(b => b.GetProperty("description").GetString()));
        Assert.All(bands, b => Assert.Equal(-9999, b.GetProperty("noDataValue").GetDouble()));
        Assert.Contains("32633", info.GetProperty("coordinateSystem").GetProperty("wkt").GetString());
        Assert.Equal([500000.0, 30, 0, 5200000, 0, -30], info.GetProperty("geoTransform").EnumerateArray().Select(v => v.GetDouble()));
        var meta = info.GetProperty("metadata").GetProperty("");
        Assert.Equal("MTL", meta.GetProperty("HYPERUNMIX_METHOD").GetString());
        Assert.Contains("alpha=0.1", meta.GetProperty("HYPERUNMIX_MTL").GetString());
        Assert.Equal("4", meta.GetProperty("HYPERUNMIX_P").GetString());
        Assert.Equal("42", meta.GetProperty("HYPERUNMIX_SEED").GetString());
        Assert.EndsWith("scene.tif", meta.GetProperty("HYPERUNMIX_INPUT").GetString());
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        Assert.True(report.GetProperty("metrics").GetProperty("mean_sad_rad").GetDouble() < 0.02);
        Assert.Equal(7922, report.GetProperty("pixels").GetProperty("valid").GetInt64());
        foreach (var side in new[] { "a.endmembers.csv", "a.endmembers.sli", "a.endmembers.hdr", "a.qml", "a.abundances.png", "a.endmembers.png", "a.model.json" })
            Assert.True(File.Exists(_cli.Path(side)), side);
        Assert.Equal("PNG", CliRunner.GdalInfo(_cli.Path("a.abundances.png")).GetProperty("driverShortName").GetString());
    }

    [Fact]
    public void Unmix_CogAndEnvi_AreReadableByGdal()
    {
        Assert.Equal(0, _cli.Run("unmix", CliRunner.Sample("scene.img"), "-o", _cli.Path("c.tif"), "--format", "cog", "-p", "4").Code);
        var cog = CliRunner.GdalInfo(_cli.Path("c.tif"));
        Assert.Equal("COG", cog.GetProperty("metadata").GetProperty("IMAGE_STRUCTURE").GetProperty("LAYOUT").GetString());
        Assert.Equal(0, _cli.Run("unmix", CliRunner.Sample("scene.img"), "-o", _cli.Path("e.img"), "--format", "envi", "-p", "4").Code);
        var envi = CliRunner.GdalInfo(_cli.Path("e.img"));
        Assert.Equal("ENVI", envi.GetProperty("driverShortName").GetString());
        Assert.Equal("EM1", envi.GetProperty("bands")[0].GetProperty("description").GetString());
    }

    [Fact]
    public void Info_Json_DescribesTheScene()
    {
        var (code, stdout, _) = _cli.Run("info", CliRunner.Sample("scene.img"), "--json");
        Assert.Equal(0, code);
        var j = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(100, j.GetProperty("width").GetInt32());
        Assert.Equal(64, j.GetProperty("bands").GetInt32());
        Assert.Equal(32633, j.GetProperty("epsg").GetInt32());
        Assert.Equal(400, j.GetProperty("wavelengths")[0].GetDouble());
        Assert.Equal(-9999, j.GetProperty("nodata")[0].GetDouble());
    }

    [Fact]
    public void Estimate_Endmembers_Evaluate_Synth_WorkEndToEnd()
    {
        var (c1, o1, _) = _cli.Run("estimate", CliRunner.Sample("scene.tif"), "--json");
        Assert.Equal(0, c1);
        Assert.Equal(4, JsonDocument.Parse(o1).RootElement.GetProperty("hysime").GetInt32());

        Assert.Equal(0, _cli.Run("endmembers", CliRunner.Sample("scene.tif"), "-p", "4", "-o", _cli.Path("e.csv")).Code);
        Assert.True(File.Exists(_cli.Path("e.sli")) && File.Exists(_cli.Path("e.hdr")) && File.Exists(_cli.Path("e.png")));

        Assert.Equal(0, _cli.Run("synth", "-o", _cli.Path("s.tif"), "--width", "30", "--height", "20", "--model", "ppnm", "-p", "3").Code);
        Assert.Equal(0, _cli.Run("unmix", _cli.Path("s.tif"), "-o", _cli.Path("s-a.tif"), "-e", _cli.Path("s_endmembers.csv"), "--method", "fcls").Code);
        var (c2, o2, e2) = _cli.Run("evaluate", _cli.Path("s-a.tif"), "--truth", _cli.Path("s_abundances.tif"), "--truth-endmembers", _cli.Path("s_endmembers.csv"), "--json");
        Assert.True(c2 == 0, e2);
        var score = JsonDocument.Parse(o2).RootElement;
        Assert.Equal(0, score.GetProperty("mean_sad_rad").GetDouble(), 1e-6); // the true endmembers were given
        Assert.True(score.GetProperty("abundance_rmse").GetDouble() < 0.2);
    }

    /// <summary>
    /// A coarser sensor and rare materials from the command line (issue 19's 64-band scenes): --bands takes evenly
    /// spaced library bands, first and last included; --rare makes the last endmembers rare. Values that cannot work
    /// are usage errors naming the flag, and nothing is written.
    /// </summary>
    [Fact]
    public void Synth_LibraryBandSubsetAndRareMaterials()
    {
        var lib = Repo.Dataset("usgs_library/usgs_1995_library_aviris224.csv");
        const string names = "Kaolinite CM9,Montmorillonite SWy-1,Calcite WS272";
        var (code, _, err) = _cli.Run("synth", "-o", _cli.Path("r.tif"), "--library", lib, "--library-names", names, "-p", "3", "--bands", "64",
            "--rare", "1", "--rare-fraction", "0.02", "--width", "40", "--height", "30");
        Assert.True(code == 0, err);
        var (c1, info, _) = _cli.Run("info", _cli.Path("r.tif"), "--json");
        Assert.Equal(0, c1);
        var j = JsonDocument.Parse(info).RootElement;
        Assert.Equal(64, j.GetProperty("bands").GetInt32());
        var all = Unmixing.Endmembers.EndmemberFiles.LoadLibrary(lib).Wavelengths!;
        var wl = j.GetProperty("wavelengths");
        Assert.Equal(all[0], wl[0].GetDouble(), 1e-3);
        Assert.Equal(all[^1], wl[63].GetDouble(), 1e-3);
        Assert.Equal(all[(int)Math.Round(21 * 223.0 / 63)], wl[21].GetDouble(), 1e-3);
        Assert.Contains("rare=1 rare_fraction=0.02", CliRunner.GdalInfo(_cli.Path("r.tif")).GetProperty("metadata").GetProperty("").GetProperty("HYPERUNMIX_SYNTHETIC").GetString());

        foreach (var (args, flag) in new (string[], string)[]
        {
            (["--bands", "300"], "--bands 300"),
            (["--rare", "3"], "--rare"),
            (["--rare", "2", "--rare-fraction", "0.6"], "--rare"), // 2 x 180 patches, 300 cells
        })
        {
            var r = _cli.Run(["synth", "-o", _cli.Path("bad.tif"), "--library", lib, "--library-names", names, "-p", "3", "--width", "40", "--height", "30", .. args]);
            Assert.Equal(2, r.Code);
            Assert.Contains(flag, r.Err);
            Assert.False(File.Exists(_cli.Path("bad.tif")), string.Join(' ', args));
        }
    }

    /// <summary>
    /// The endmembers command runs the same stage as unmix (extraction, N-FINDR, refinement): its CSV is the set unmix
    /// writes with the same options, for each extractor and with the refinement off.
    /// </summary>
    [Theory]
    [InlineData("nfindr", false)]
    [InlineData("vca", true)]
    public void Endmembers_AreTheSetUnmixUses(string extractor, bool noRefine)
    {
        string[] options = ["-p", "4", "--extractor", extractor, .. noRefine ? new[] { "--no-refine" } : []];
        Assert.Equal(0, _cli.Run(["endmembers", CliRunner.Sample("scene.tif"), "-o", _cli.Path("e.csv"), .. options]).Code);
        Assert.Equal(0, _cli.Run(["unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("u.tif"), "--method", "fcls", .. options]).Code);
        Assert.Equal(File.ReadAllText(_cli.Path("u.endmembers.csv")), File.ReadAllText(_cli.Path("e.csv")));
        var (_, stdout, _) = _cli.Run(["endmembers", CliRunner.Sample("scene.tif"), "-o", _cli.Path("e2.csv"), .. options]);
        Assert.Contains(extractor == "vca" ? "VCA (seed 42)" : "N-FINDR from the pixels of VCA", stdout);
    }

    /// <summary>
    /// SISAL's minimum-volume simplex is pushed past the origin around a dark material under noise (the sample scene's
    /// water: a vertex of mean value -0.005): a clear error naming the scene, the extractor and the way out, exit 3, and
    /// no output left behind, where the run used to fail on "endmember 'EM2' is all zero".
    /// </summary>
    [Fact]
    public void Sisal_VertexPastTheOrigin_IsABadInputErrorThatSaysWhy()
    {
        var r = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("s.tif"), "-p", "4", "--extractor", "sisal", "--no-refine");
        Assert.Equal(ExitCodes.BadInput, r.Code);
        Assert.Contains("scene.tif", r.Err);
        Assert.Contains("SISAL's endmember 2 is not a spectrum", r.Err);
        Assert.Contains("use the default extractor (nfindr) or vca", r.Err);
        Assert.False(File.Exists(_cli.Path("s.tif")));
    }

    /// <summary>
    /// Issue 19, item 2: a deep run whose fit covered every valid pixel (a 60 x 50 FAN scene: 3,000 pixels, under the
    /// 10,000 fit pixels) gives each pixel the model applied, as any other pixel and as a later run with the model
    /// file: the same bytes. It used to keep the fit's abundances, an early-stopped optimiser state (with the network
    /// kept, 94% of the sample scene's pixels differed by over 1e-3: aRMSE 0.76 against the applied model's 0.50). The
    /// network must be kept, or the model is the linear start, where both would agree anyway: on the sample scene (a
    /// linear mixture) even --keep-network ends at the start (its held-out error never improves), so this runs on FAN,
    /// and checks that the answer is not FCLS's.
    /// </summary>
    [Fact]
    public void DeepRun_ExhaustiveFit_GivesEachPixelTheModelApplied()
    {
        var scene = _cli.Path("fan.tif");
        var synth = _cli.Run("synth", "-o", scene, "--model", "fan", "--width", "60", "--height", "50", "--seed", "3");
        Assert.True(synth.Code == 0, synth.Err);
        var fit = _cli.Run("unmix", scene, "-o", _cli.Path("fit.tif"), "-p", "4", "--normalize", "none", "--keep-network");
        Assert.True(fit.Code == 0, fit.Err);
        Assert.Contains("deep model: fitted on 3000 pixels", fit.Out);
        Assert.Contains("on all 3000 valid pixels", fit.Out);
        Assert.DoesNotContain("nonlinearity:", fit.Out);
        var fcls = _cli.Run("unmix", scene, "-o", _cli.Path("fcls.tif"), "--method", "fcls", "--normalize", "none", "-e", _cli.Path("fit.endmembers.csv"));
        Assert.True(fcls.Code == 0, fcls.Err);
        Assert.NotEqual(CliRunner.PixelHash(_cli.Path("fcls.tif")), CliRunner.PixelHash(_cli.Path("fit.tif")));
        var applied = _cli.Run("unmix", scene, "-o", _cli.Path("applied.tif"), "--model", _cli.Path("fit.model.json"));
        Assert.True(applied.Code == 0, applied.Err);
        Assert.Equal(CliRunner.PixelHash(_cli.Path("fit.tif")), CliRunner.PixelHash(_cli.Path("applied.tif")));
    }

    /// <summary>
    /// The pixel test (issue 19, item 2) through the command, on a FAN scene with the network kept and the plain model
    /// (forced, so that the linear start is FCLS): each pixel's abundances and residual are either the network's (the
    /// run with --no-pixel-test) or the linear start's (FCLS with the run's endmembers), never anything else, and both
    /// occur; the report records the choice.
    /// </summary>
    [Fact]
    public void DeepRun_PixelTest_GivesEachPixelTheNetworksSolutionOrItsLinearStart()
    {
        var scene = _cli.Path("fan.tif");
        var synth = _cli.Run("synth", "-o", scene, "--model", "fan", "--width", "60", "--height", "50", "--seed", "3");
        Assert.True(synth.Code == 0, synth.Err);
        string[] deep = ["-p", "4", "--normalize", "none", "--keep-network"];
        var tested = _cli.Run(["unmix", scene, "-o", _cli.Path("t.tif"), .. deep]);
        Assert.True(tested.Code == 0, tested.Err);
        var every = _cli.Run(["unmix", scene, "-o", _cli.Path("n.tif"), .. deep, "--no-pixel-test"]);
        Assert.True(every.Code == 0, every.Err);
        var fcls = _cli.Run("unmix", scene, "-o", _cli.Path("f.tif"), "--method", "fcls", "--normalize", "none", "-e", _cli.Path("t.endmembers.csv"));
        Assert.True(fcls.Code == 0, fcls.Err);
        Assert.True(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_cli.Path("t.report.json")))!["deep_model"]!["options"]!["PixelTest"]!.GetValue<bool>());
        Assert.False(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_cli.Path("n.report.json")))!["deep_model"]!["options"]!["PixelTest"]!.GetValue<bool>());
        int network = 0, linear = 0;
        var bands = Enumerable.Range(1, 5).Select(b => (T: CliRunner.Band(_cli.Path("t.tif"), b), N: CliRunner.Band(_cli.Path("n.tif"), b), F: CliRunner.Band(_cli.Path("f.tif"), b))).ToArray();
        for (var px = 0; px < bands[0].T.Length; px++)
        {
            bool isNetwork = bands.All(b => b.T[px] == b.N[px]), isLinear = bands.All(b => b.T[px] == b.F[px]);
            Assert.True(isNetwork || isLinear, $"pixel {px}: neither the network's solution nor the linear start");
            if (isNetwork && !isLinear) network++;
            if (isLinear && !isNetwork) linear++;
        }
        Assert.True(network > 0 && linear > 0, $"{network} pixels took the network's solution, {linear} their linear start");
    }

    /// <summary>
    /// The nonlinearity test in the default run: on the sample scene (a linear mixture) the network does no better than
    /// a linear re-mix of the endmembers, so the run returns its linear start, FCLS's answer with the same endmembers
    /// bit for bit (a linear model is applied by its solver), and says so.
    /// </summary>
    [Fact]
    public void DeepRun_LinearScene_ReturnsTheLinearStartAndSaysWhy()
    {
        var run = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("d.tif"), "-p", "4");
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("nonlinearity: network not kept, linear start returned", run.Out);
        var test = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_cli.Path("d.report.json")))!["deep_model"]!["nonlinearity"]!;
        Assert.False(test["network_kept"]!.GetValue<bool>());
        Assert.True(test["held_out_error"]!.GetValue<double>() > test["linear_remix_error"]!.GetValue<double>());
        var fcls = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("f.tif"), "--method", "fcls", "-e", _cli.Path("d.endmembers.csv"));
        Assert.True(fcls.Code == 0, fcls.Err);
        // Not close to FCLS: FCLS itself, every abundance and the residual band, bit for bit (the linear model's apply is its solver).
        Assert.True(CliRunner.PixelHash(_cli.Path("d.tif")) == CliRunner.PixelHash(_cli.Path("f.tif")), "the default's answer is not FCLS's");
    }

    /// <summary>
    /// The QGIS plugin's menus are generated from the command's registries (methods, extractors, pixel scales, in
    /// their order: its enum parameters are indices, METHOD=1 is fcls): the committed choices.py must be what
    /// <c>hyperunmix plugin-choices</c> prints now, and the plugin must take its lists from it.
    /// </summary>
    [Fact]
    public void QgisPlugin_ChoicesAreGeneratedFromTheRegistries()
    {
        var dir = Path.Combine(CliRunner.RepoRoot, "plugins", "qgis", "hyperunmix");
        var (code, stdout, _) = _cli.Run("plugin-choices");
        Assert.Equal(0, code);
        Assert.True(File.ReadAllText(Path.Combine(dir, "choices.py")) == stdout,
            "plugins/qgis/hyperunmix/choices.py is stale: run `hyperunmix plugin-choices > plugins/qgis/hyperunmix/choices.py`");
        Assert.Equal(Pipeline.UnmixChoices.PluginModule(), stdout);
        Assert.Contains($"METHODS = [{string.Join(", ", Pipeline.UnmixChoices.Methods.Select(m => $"\"{m}\""))}]", stdout);
        Assert.Contains("NORMALIZES = [\"auto\", \"scale\", \"l2\", \"none\"]", stdout);
        var algorithms = File.ReadAllText(Path.Combine(dir, "algorithms.py"));
        Assert.Contains("from .choices import", algorithms);
        Assert.DoesNotMatch(@"(?m)^(METHODS|EXTRACTORS|NORMALIZES) = ", algorithms);
        // Hidden: a developer aid, not part of the user's help.
        Assert.DoesNotContain("plugin-choices", _cli.Run("--help").Out);
    }

    /// <summary>
    /// Threads and memory are each machine's own (a plan and a job's orders never carry them): `cluster submit`
    /// refuses them before it asks any cluster (exit 2, pointing at the worker), and the worker checks its budget.
    /// </summary>
    [Fact]
    public void ClusterSubmit_RefusesMachineSettings_TheWorkerTakesThem()
    {
        var scene = Path.Combine(CliRunner.RepoRoot, "sample-rasters", "scene.tif");
        foreach (var flag in new[] { "--threads", "--memory" })
        {
            var (code, _, err) = _cli.Run("cluster", "submit", scene, "-o", _cli.Path("job"), "--job", "j", flag, "64", "--redis", "127.0.0.1:1");
            Assert.Equal(2, code);
            Assert.Contains($"{flag} is each worker's own setting", err);
            Assert.Contains("hyperunmix worker", err);
        }
        Assert.False(Directory.Exists(_cli.Path("job")));
        var worker = _cli.Run("worker", "--redis", "127.0.0.1:1", "--memory", "8");
        Assert.Equal(2, worker.Code);
        Assert.Contains("--memory must be at least 16 MB", worker.Err);
        Assert.Contains("--memory", _cli.Run("worker", "--help").Out);
    }

    [Fact]
    public void Help_EverywhereHasExamples()
    {
        foreach (var cmd in new[] { "info", "estimate", "endmembers", "unmix", "mesma", "library", "evaluate", "synth" })
        {
            var (code, stdout, _) = _cli.Run(cmd, "--help");
            Assert.Equal(0, code);
            Assert.Contains("hyperunmix " + cmd, stdout);
        }
    }

    public static TheoryData<string, int, string> BadInvocations => new()
    {
        { "unmix|missing.tif|-o|OUT", 3, "file not found" },
        { "unmix|TEXT|-o|OUT", 3, "text.tif: cannot open as raster" },
        { "unmix|SCENE|-o|OUT|-p|65", 2, "larger than the number of bands" },
        { "unmix|SCENE|-o|OUT|--method|magic", 2, "magic" },
        // The library names the options' properties; the command names its flags.
        { "unmix|SCENE|-o|OUT|--tile|0", 2, "hyperunmix: --tile must be at least 16 pixels, got 0" },
        { "unmix|SCENE|-o|OUT|--threads|0", 2, "hyperunmix: --threads must be at least 1, got 0" },
        { "unmix|SCENE|-o|OUT|-e|BADCSV|-p|3", 2, "hyperunmix: give either --endmembers or -p, not both" },
        { "unmix|SCENE|-o|OUT|-e|BADCSV", 3, "has 3 bands, but 54 bands of the scene are used" },
        { "unmix|SCENE|-o|OUT|--roi|FAR", 3, "does not overlap" },
        { "unmix|SCENE|-o|OUT|--bands|0-3", 2, "1-based" },
        { "unmix|SCENE", 2, "'-o' is required" },
        { "frobnicate", 2, "frobnicate" },
        { "unmix|INF|-o|OUT|--method|fcls|-p|3", 3, "inf.img: band 2 has infinite values" },
        { "unmix|INF|-o|OUT", 3, "inf.img: band 2 has infinite values" },
        { "unmix|INF|-o|OUT|--gdal-reader|-p|3", 3, "inf.img: band 2 has infinite values" },
        { "estimate|INF", 3, "inf.img: band 2 has infinite values" },
        { "unmix|SCENE|-o|OUT|--method|fcls|-e|ZEROCSV", 3, "zero.csv: endmember 'blank'" },
        { "unmix|SCENE|-o|OUT|--method|fcls|-e|HUGECSV", 3, "huge.csv: endmember 'a'" },
    };

    /// <summary>A 20 x 20 x 8 float ENVI scene with +Inf in band 2 at (col 5, row 2) and -Inf in band 5 at (col 0, row 15).</summary>
    private string WriteInfScene()
    {
        const int w = 20, h = 20, bands = 8;
        var rng = new Random(1);
        var data = new float[w * h * bands];
        for (var i = 0; i < data.Length; i++) data[i] = (float)(0.1 + rng.NextDouble());
        data[1 * w * h + 45] = float.PositiveInfinity;
        data[4 * w * h + 300] = float.NegativeInfinity;
        var path = _cli.Path("inf.img");
        File.WriteAllBytes(path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
        File.WriteAllText(_cli.Path("inf.hdr"),
            $"ENVI\nsamples = {w}\nlines = {h}\nbands = {bands}\nheader offset = 0\nfile type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n");
        return path;
    }

    /// <summary>A CSV of three spectra over the sample scene's 64 bands, one of them all zero or one huge value.</summary>
    private string WriteEndmemberCsv(string name, bool zero)
    {
        var lines = new List<string> { zero ? "band,soil,blank,grass" : "band,a,b,c" };
        for (var b = 1; b <= 64; b++)
            lines.Add(zero ? $"{b},{0.1 + 0.005 * b},0,{0.5 - 0.004 * b}" : $"{b},{(b == 7 ? "1e308" : "0.2")},{0.1 + 0.005 * b},{0.5 - 0.004 * b}");
        var path = _cli.Path(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public void BadInput_GivesDocumentedExitCodeOneLineMessageAndNoOutput(string argLine, int expected, string mention)
    {
        File.WriteAllText(_cli.Path("text.tif"), "not a raster");
        File.WriteAllText(_cli.Path("bad.csv"), "band,a,b\n1,0.1,0.2\n2,0.2,0.1\n3,0.3,0.5\n");
        File.WriteAllText(_cli.Path("far.geojson"), "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[2,48],[2.1,48],[2.1,48.1],[2,48]]]}}]}");
        WriteInfScene();
        WriteEndmemberCsv("zero.csv", zero: true);
        WriteEndmemberCsv("huge.csv", zero: false);
        var args = argLine.Split('|').Select(a => a switch
        {
            "INF" => _cli.Path("inf.img"),
            "ZEROCSV" => _cli.Path("zero.csv"),
            "HUGECSV" => _cli.Path("huge.csv"),
            "OUT" => _cli.Path("out.tif"),
            "SCENE" => CliRunner.Sample("scene.tif"),
            "TEXT" => _cli.Path("text.tif"),
            "BADCSV" => _cli.Path("bad.csv"),
            "FAR" => _cli.Path("far.geojson"),
            var x => x,
        }).ToArray();
        var before = Directory.GetFileSystemEntries(_cli.Dir).Order().ToArray();
        var (code, _, err) = _cli.Run(args);
        Assert.Equal(expected, code);
        Assert.Contains(mention, err);
        Assert.StartsWith("hyperunmix: ", err);
        // Every error, usage errors included, is one line.
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Equal(before, Directory.GetFileSystemEntries(_cli.Dir).Order().ToArray());
    }

    [Theory]
    [InlineData("fcls")]
    [InlineData("mtl")]
    public void Unmix_InfiniteSamplesWithNanAsNodata_AreNodataInTheOutput(string method)
    {
        WriteInfScene();
        var (code, _, err) = _cli.Run("unmix", _cli.Path("inf.img"), "-o", _cli.Path("out.tif"), "--method", method, "-p", "3", "--nan-as-nodata", "--fit-pixels", "100");
        Assert.True(code == 0, err);
        // +Inf at (col 5, row 2) of band 2, -Inf at (col 0, row 15) of band 5: every output band is nodata there.
        foreach (var (col, row) in new[] { (5, 2), (0, 15) })
            Assert.All(LocationValues(_cli.Path("out.tif"), col, row), v => Assert.Equal(-9999, v));
        var elsewhere = LocationValues(_cli.Path("out.tif"), 3, 3);
        Assert.All(elsewhere, v => Assert.True(double.IsFinite(v) && v != -9999));
        Assert.Equal(1.0, elsewhere.Take(3).Sum(), 1e-5);
    }

    private static double[] LocationValues(string path, int col, int row) => GdalTools.LocationValues(path, col, row);

    public static TheoryData<string, int, string> OneLineErrors => new()
    {
        { "unmix|SCENE|-o|OUT|--roi|LAT96", 3, "lat96.geojson: " },
        { "unmix|SCENE|-o|OUT|--roi|ROI|--roi-where|name =", 3, "roi.geojson: " },
        { "unmix|SCENE|-o|OUT|--roi|NOEPSG", 3, "noepsg.geojson: " },
        { "unmix|SCENE|-o|OUT|--roi|GARBAGE", 3, "garbage.geojson: " },
        { "unmix|SCENE|-o|OUT|--format|xyz", 2, "--format|xyz|'gtiff' 'cog' 'envi'" },
    };

    /// <summary>
    /// Hostile ROIs and usage errors: exactly one line on stderr naming the file (or option) and the problem, nothing
    /// written. An unknown CRS in a GeoJSON is refused rather than read as WGS 84, the GeoJSON default.
    /// </summary>
    [Theory]
    [MemberData(nameof(OneLineErrors))]
    public void Errors_AreOneLineNamingTheFileOrOption(string argLine, int expected, string mentions)
    {
        var roi = File.ReadAllText(CliRunner.Sample("roi.geojson"));
        File.WriteAllText(_cli.Path("lat96.geojson"), roi.Replace("46.9", "96.9", StringComparison.Ordinal));
        static string WithCrs(string json, string name) =>
            json.Replace("\"name\":\"roi\",", $"\"name\":\"roi\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"{name}\"}}}},", StringComparison.Ordinal);
        File.WriteAllText(_cli.Path("noepsg.geojson"), WithCrs(roi, "urn:ogc:def:crs:EPSG::999999"));
        File.WriteAllText(_cli.Path("garbage.geojson"), WithCrs(roi, "no such crs"));
        var args = argLine.Split('|').Select(a => a switch
        {
            "OUT" => _cli.Path("out.tif"),
            "SCENE" => CliRunner.Sample("scene.tif"),
            "ROI" => CliRunner.Sample("roi.geojson"),
            "LAT96" or "NOEPSG" or "GARBAGE" => _cli.Path(a.ToLowerInvariant() + ".geojson"),
            var x => x,
        }).ToArray();
        var before = Directory.GetFileSystemEntries(_cli.Dir).Order().ToArray();
        var (code, _, err) = _cli.Run(args);
        Assert.True(code == expected, $"exit {code}: {err}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{lines.Length} lines:\n{err}");
        Assert.StartsWith("hyperunmix: ", lines[0]);
        foreach (var m in mentions.Split('|')) Assert.Contains(m, lines[0]);
        Assert.Equal(before, Directory.GetFileSystemEntries(_cli.Dir).Order().ToArray());
    }

    [Fact]
    public async Task Unmix_Sigterm_StopsWithExitCode130AndLeavesNoOutput()
    {
        Assert.Equal(0, _cli.Run("synth", "-o", _cli.Path("big.tif"), "--width", "400", "--height", "300", "--bands", "96", "--model", "fan").Code);
        var before = Directory.GetFileSystemEntries(_cli.Dir).Order().ToArray();
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "hyperunmix.dll"), "unmix", _cli.Path("big.tif"), "-o", _cli.Path("out.tif"), "-p", "4", "--tile", "32", "--threads", "1" })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        // Wait until the run is under way (fitting or writing tiles), then ask it to stop as a scheduler would.
        string? line;
        while ((line = await p.StandardOutput.ReadLineAsync()) is not null && !(line.StartsWith("PROGRESS", StringComparison.Ordinal) && (line.Contains("fit", StringComparison.Ordinal) || line.Contains("unmix", StringComparison.Ordinal)))) { }
        Assert.NotNull(line);
        await System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExitAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(130, p.ExitCode);
        Assert.Contains("cancelled", await stderr);
        Assert.Equal(before, Directory.GetFileSystemEntries(_cli.Dir).Order().ToArray());
    }

    [Fact]
    public void Gdal_LibraryMissing_SaysHowToInstallIt()
    {
        var (code, _, err) = _cli.RunWith(new Dictionary<string, string> { ["HYPERUNMIX_GDAL_LIBRARY"] = "/nonexistent/libgdal.so.99" },
            "info", CliRunner.Sample("scene.tif"));
        Assert.Equal(1, code);
        Assert.Contains("GDAL was not found", err);
        Assert.Contains("apt-get install gdal-bin", err);
        Assert.Contains("HYPERUNMIX_GDAL_LIBRARY", err);
    }

    [Fact]
    public void Unmix_ExistingOutputWithoutOverwrite_Exits4AndKeepsIt()
    {
        var o = _cli.Path("exists.tif");
        File.WriteAllText(o, "precious");
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", o, "-p", "4");
        Assert.Equal(4, code);
        Assert.Contains("--overwrite", err);
        Assert.Equal("precious", File.ReadAllText(o));
    }
}
