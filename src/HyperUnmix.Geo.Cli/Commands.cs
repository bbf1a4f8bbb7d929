using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Cli;

/// <summary>The <c>hyperunmix</c> command tree.</summary>
public static class Commands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private static readonly Option<bool> Verbose = new("--verbose") { Description = "Print details (GDAL messages, stack traces) on errors.", Recursive = true };

    public static RootCommand Build(CancellationToken cancel)
    {
        var root = new RootCommand("""
            HyperUnmix.Geo: hyperspectral unmixing for georeferenced scenes (ENVI, GeoTIFF, any GDAL raster).

            Examples:
              hyperunmix info sample-rasters/scene.img
              hyperunmix unmix sample-rasters/scene.tif -o abundances.tif
              hyperunmix unmix sample-rasters/scene.tif -o roi.tif --roi sample-rasters/roi.geojson --method fcls
              hyperunmix evaluate abundances.tif --truth sample-rasters/scene_abundances.tif --truth-endmembers sample-rasters/scene_endmembers.csv

            Exit codes: 0 ok, 2 bad arguments, 3 bad input data, 4 output/I-O failure, 130 cancelled, 1 internal error.
            """);
        root.Options.Add(Verbose);
        root.Subcommands.Add(Info());
        root.Subcommands.Add(Estimate(cancel));
        root.Subcommands.Add(Endmembers(cancel));
        root.Subcommands.Add(Unmix(cancel));
        root.Subcommands.Add(Evaluate());
        root.Subcommands.Add(Synth());
        root.Subcommands.Add(SampleData());
        root.Subcommands.Add(ClusterCommands.Worker(cancel));
        root.Subcommands.Add(ClusterCommands.Cluster(UnmixOptionSet, cancel));
        return root;
    }

    private static Argument<string> SceneArgument() => new("scene") { Description = "Input raster: ENVI (.img/.dat with .hdr), GeoTIFF, VRT or any GDAL raster." };

    /// <summary>Runs an action, turning exceptions into a one-line message and the documented exit code.</summary>
    internal static int Guard(ParseResult parse, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e)
        {
            var (code, message) = ExitCodes.Classify(e);
            Console.Error.WriteLine($"hyperunmix: {ExitCodes.OneLine(message)}");
            if (parse.GetValue(Verbose)) Console.Error.WriteLine(e);
            return code;
        }
    }

    private static Command Info()
    {
        var scene = SceneArgument();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("info", "Describe a scene: size, bands, CRS, pixel size, wavelengths, nodata, bad bands, blocks.\n\nExample:\n  hyperunmix info sample-rasters/scene.img --json") { scene, json };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            using var src = RasterSource.Open(parse.GetValue(scene)!);
            var i = src.Info;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    path = i.Path, driver = i.Driver, width = i.Width, height = i.Height, bands = i.BandCount, data_type = i.DataType.ToString(),
                    epsg = i.Epsg, crs_wkt = i.CrsWkt, geotransform = i.GeoTransform, pixel_width = i.PixelWidth, pixel_height = i.PixelHeight,
                    nodata = i.NoData, band_names = i.BandNames, wavelengths = i.Wavelengths, wavelength_units = i.WavelengthUnits, fwhm = i.Fwhm,
                    bad_bands = i.BadBands.Select(b => b + 1), block = new[] { i.BlockSize.X, i.BlockSize.Y }, interleave = i.Interleave,
                    compression = i.Compression, reader = src.ReadPath,
                }, Json));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"{i.Path}");
            Console.WriteLine($"  driver      {i.Driver}, {i.DataType}, interleave {i.Interleave ?? "?"}, compression {i.Compression ?? "none"}");
            Console.WriteLine($"  size        {i.Width} x {i.Height} pixels, {i.BandCount} bands, blocks {i.BlockSize.X} x {i.BlockSize.Y}");
            Console.WriteLine($"  CRS         {(i.Epsg is { } e ? $"EPSG:{e}" : string.IsNullOrEmpty(i.CrsWkt) ? "none (pixel coordinates)" : "custom WKT")}");
            Console.WriteLine($"  pixel size  {(i.HasGeoreference ? string.Create(CultureInfo.InvariantCulture, $"{i.PixelWidth:G6} x {i.PixelHeight:G6}") : "n/a")}");
            if (i.GeoTransform is { } gt) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  origin      {gt[0]:G10}, {gt[3]:G10}"));
            var nd = i.NoData.Distinct().ToArray();
            Console.WriteLine($"  nodata      {(nd.Length == 1 ? nd[0]?.ToString(CultureInfo.InvariantCulture) ?? "none" : "per band")}");
            Console.WriteLine(i.Wavelengths is { } w
                ? string.Create(CultureInfo.InvariantCulture, $"  wavelengths {w.Min():G6} - {w.Max():G6} {i.WavelengthUnits}")
                : "  wavelengths none");
            Console.WriteLine($"  bad bands   {(i.BadBands.Length == 0 ? "none" : string.Join(",", i.BadBands.Select(b => b + 1)))}");
            Console.WriteLine($"  reader      {src.ReadPath}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private sealed record InputOptions(Option<string?> NoData, Option<bool> NanAsNoData, Option<string?> Bands, Option<bool> DropBad, Option<double> Scale,
        Option<int> Sample, Option<long> Seed, Option<string?> Roi)
    {
        public static InputOptions Create() => new(
            new Option<string?>("--nodata") { Description = "Input nodata value for every band (a number or 'nan'); overrides the file's." },
            new Option<bool>("--nan-as-nodata") { Description = "Treat non-finite samples (NaN, +/-Inf) as nodata (default: they are an error unless they are the band's nodata value)." },
            new Option<string?>("--bands") { Description = "Bands to use, 1-based: '1-100,120-150'." },
            new Option<bool>("--drop-bad-bands") { Description = "Leave out the bands flagged bad in the header (ENVI bbl)." },
            new Option<double>("--scale") { Description = "Multiply input values by this factor (e.g. 0.0001 for reflectance x 10000).", DefaultValueFactory = _ => 1.0 },
            new Option<int>("--sample") { Description = "Pixels sampled (spatially stratified) for HySime and VCA.", DefaultValueFactory = _ => 20000 },
            new Option<long>("--seed") { Description = "Seed for sampling and VCA; same seed, same result.", DefaultValueFactory = _ => 42 },
            new Option<string?>("--roi") { Description = "Polygons (GeoJSON, Shapefile, GeoPackage, ...) to clip to." });

        public IEnumerable<Option> All => [NoData, NanAsNoData, Bands, DropBad, Scale, Sample, Seed, Roi];

        public UnmixOptions Apply(ParseResult p, UnmixOptions o) => o with
        {
            InputNoData = ParseNoData(p.GetValue(NoData)),
            NanAsNoData = p.GetValue(NanAsNoData),
            Bands = ParseBands(p.GetValue(Bands)),
            DropBadBands = p.GetValue(DropBad),
            InputScale = p.GetValue(Scale),
            SampleSize = p.GetValue(Sample),
            Seed = p.GetValue(Seed),
            Roi = p.GetValue(Roi),
        };
    }

    private static Command Estimate(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var common = InputOptions.Create();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("estimate", "Estimate the number of endmembers with HySime (and HFC-VD as a second opinion) on a stratified sample of valid pixels.\n\nExample:\n  hyperunmix estimate sample-rasters/scene.tif") { scene, json };
        foreach (var opt in common.All) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = common.Apply(parse, new UnmixOptions { Input = parse.GetValue(scene)!, Output = "unused" });
            var sample = ReadSample(o, cancel, out _);
            cancel.ThrowIfCancellationRequested();
            if (sample.Count <= sample.Bands)
                throw new RasterDataException(o.Input, $"only {sample.Count} valid pixels for {sample.Bands} bands: too few for HySime");
            var r = HySime.Estimate(sample.Y, sample.Bands, sample.Count);
            double[] pf = [1e-3, 1e-4, 1e-5];
            var vd = HfcVd.Estimate(sample.Y, sample.Bands, sample.Count, pf);
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    hysime = r.Count,
                    hfc_vd = pf.Select((f, i) => new { pf = f, count = vd[i] }).ToArray(),
                    pixels = sample.Count,
                    bands = sample.Bands,
                }, Json));
            else
            {
                Console.WriteLine($"HySime: {r.Count} endmembers ({sample.Count} pixels, {sample.Bands} bands)");
                Console.WriteLine($"HFC-VD (second opinion; often P or P - 1): {string.Join(", ", pf.Select((f, i) => string.Create(CultureInfo.InvariantCulture, $"{vd[i]} at Pf {f:G1}")))}");
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static PixelSample ReadSample(UnmixOptions o, CancellationToken cancel, out RasterInfo info)
    {
        using var src = UnmixJob.OpenInput(o);
        info = src.Info;
        var bands = UnmixJob.SelectBands(o, src.Info);
        var roi = o.Roi is null ? null : RegionOfInterest.Load(o.Roi, src.Info, cancel: cancel);
        var sample = Sampling.Read(src, roi?.Window ?? src.Extent, roi, bands, o.InputScale, o.SampleSize, o.Seed);
        if (sample.Count == 0) throw new RasterDataException(o.Input, "has no valid pixel");
        return sample;
    }

    private static Command Endmembers(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var common = InputOptions.Create();
        var p = new Option<int?>("-p", "--endmember-count") { Description = "Number of endmembers (default: HySime estimate)." };
        var output = new Option<string>("-o", "--output") { Description = "CSV to write (an ENVI spectral library .sli/.hdr and a plot .png are written next to it).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        var cmd = new Command("endmembers", "Extract endmember spectra with VCA.\n\nExample:\n  hyperunmix endmembers sample-rasters/scene.tif -p 4 -o endmembers.csv") { scene, p, output, overwrite };
        foreach (var opt in common.All) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = common.Apply(parse, new UnmixOptions { Input = parse.GetValue(scene)!, Output = parse.GetValue(output)! });
            var csv = Path.GetFullPath(o.Output);
            var sli = Path.ChangeExtension(csv, ".sli");
            var png = Path.ChangeExtension(csv, ".png");
            foreach (var f in new[] { csv, sli, Path.ChangeExtension(csv, ".hdr"), png })
                if (File.Exists(f) && !parse.GetValue(overwrite)) throw new RasterOutputException(f, "already exists (use --overwrite to replace it)");
            if (!Directory.Exists(Path.GetDirectoryName(csv))) throw new RasterOutputException(csv, "the output folder does not exist");
            var sample = ReadSample(o, cancel, out var info);
            cancel.ThrowIfCancellationRequested();
            var count = parse.GetValue(p);
            if (count is < 1) throw new UsageException($"-p must be at least 1, got {count}");
            count ??= HySime.Estimate(sample.Y, sample.Bands, sample.Count).Count;
            if (count > sample.Bands) throw new UsageException($"P = {count} is larger than the number of bands ({sample.Bands})");
            var vca = Vca.Extract(sample.Y, sample.Bands, sample.Count, count.Value, o.Seed);
            var bands = UnmixJob.SelectBands(o, info);
            var set = new EndmemberSet(vca.Endmembers, vca.Bands, vca.Count, Enumerable.Range(1, count.Value).Select(i => $"EM{i}").ToArray(),
                info.Wavelengths is null ? null : bands.Select(b => info.Wavelengths[b]).ToArray());
            EndmemberFiles.WriteCsv(csv, set);
            EndmemberFiles.WriteEnviLibrary(sli, set);
            QuickLook.WriteSpectra(png, set);
            Console.WriteLine($"{count} endmembers (VCA, seed {o.Seed}, {sample.Count} pixels, estimated SNR {vca.SnrDb:F1} dB)");
            Console.WriteLine($"  {csv}\n  {sli}\n  {png}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The options of an unmixing run (shared by unmix and cluster submit) and how to read them.</summary>
    private static (List<Option> Options, Func<ParseResult, string, string, UnmixOptions> Build) UnmixOptionSet()
    {
        var common = InputOptions.Create();
        var method = new Option<string>("--method", "-m") { Description = "mtl (the deep multi-task method) | fcls | nnls | scls | ucls.", DefaultValueFactory = _ => "mtl" };
        method.AcceptOnlyFromAmong("mtl", "fcls", "nnls", "scls", "ucls");
        var model = new Option<string?>("--model") { Description = "Apply a fitted deep model (a .model.json from an earlier run) instead of fitting one." };
        var alpha = new Option<double>("--alpha") { Description = "mtl: weight of the auxiliary NMF task.", DefaultValueFactory = _ => new MtlOptions().Alpha };
        var epochs = new Option<int>("--epochs") { Description = "mtl: maximum training epochs.", DefaultValueFactory = _ => new MtlOptions().MaxEpochs };
        var fitPixels = new Option<int>("--fit-pixels") { Description = "mtl: pixels the model is fitted on (all valid pixels when fewer).", DefaultValueFactory = _ => 10000 };
        var noRow = new Option<bool>("--no-row-branch") { Description = "mtl ablation: drop the row (endmember) branch." };
        var noColumn = new Option<bool>("--no-column-branch") { Description = "mtl ablation: drop the column (abundance) branch." };
        var linearOnly = new Option<bool>("--linear-only") { Description = "mtl ablation: drop both networks (a regularised NMF)." };
        var endmemberStep = new Option<float>("--endmember-step") { Description = "mtl: largest iRprop+ step of the endmembers (0 keeps them fixed; > 0 also trains the row branch).", DefaultValueFactory = _ => 0f };
        var endmembers = new Option<string?>("--endmembers", "-e") { Description = "Endmember spectra: CSV (one row per band) or ENVI spectral library (.sli)." };
        var names = new Option<string?>("--endmember-names") { Description = "Comma-separated spectra to take from --endmembers." };
        var resample = new Option<bool>("--resample") { Description = "Interpolate --endmembers spectra to the scene's wavelengths when they differ." };
        var p = new Option<int?>("-p", "--endmember-count") { Description = "Endmembers to extract (default: HySime estimate)." };
        var extractor = new Option<string>("--extractor") { Description = "Endmember extraction: nfindr (N-FINDR from VCA's pixels) | vca.", DefaultValueFactory = _ => "nfindr" };
        extractor.AcceptOnlyFromAmong("nfindr", "vca");
        var noRefine = new Option<bool>("--no-refine") { Description = "Keep the extracted pixels as endmembers (no archetypal refinement)." };
        var normalize = new Option<string>("--normalize") { Description = "Pixel brightness: scale (y = s E a, per-pixel scale; default for mtl) | l2 (unit-length pixels) | none (default for the classic solvers).", DefaultValueFactory = _ => "auto" };
        normalize.AcceptOnlyFromAmong("auto", "scale", "l2", "none");
        var tile = new Option<int>("--tile") { Description = "Tile side in pixels.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var memory = new Option<int>("--memory") { Description = "Memory budget for tiles in flight, MB.", DefaultValueFactory = _ => 1024 };
        var format = new Option<string>("--format", "-f") { Description = "gtiff | cog | envi.", DefaultValueFactory = _ => "gtiff" };
        format.AcceptOnlyFromAmong("gtiff", "cog", "envi");
        var outNoData = new Option<float>("--output-nodata") { Description = "Nodata value written to the output.", DefaultValueFactory = _ => -9999f };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        var truth = new Option<string?>("--truth") { Description = "Ground-truth abundances, for metrics in the report." };
        var truthE = new Option<string?>("--truth-endmembers") { Description = "Ground-truth endmembers CSV, for SAD in the report." };
        var roiWhere = new Option<string?>("--roi-where") { Description = "Attribute filter for --roi (OGR SQL WHERE clause)." };
        var roiLayer = new Option<string?>("--roi-layer") { Description = "Layer of --roi (default: the first)." };
        var roiFids = new Option<string?>("--roi-fid") { Description = "Comma-separated feature ids of --roi to use." };
        var roiSame = new Option<bool>("--roi-assume-scene-crs") { Description = "Read polygon coordinates in the scene's CRS (or pixel coordinates when the scene has none)." };
        var gdalReader = new Option<bool>("--gdal-reader") { Description = "Read through GDAL RasterIO even where the file can be read directly (uncompressed float32)." };
        var ioOnly = new Option<bool>("--io-only") { Description = "Benchmark aid: read and write everything without unmixing (the I/O floor)." };
        List<Option> options = [method, endmembers, names, resample, p, extractor, noRefine, normalize, tile, threads, memory, format, outNoData, overwrite, truth, truthE, roiWhere, roiLayer, roiFids, roiSame, gdalReader, ioOnly, model, alpha, epochs, fitPixels, noRow, noColumn, linearOnly, endmemberStep];
        options.AddRange(common.All);
            return (options, (parse, input, output_) => common.Apply(parse, new UnmixOptions
            {
                Input = input,
                Output = output_,
                Method = Enum.Parse<UnmixMethod>(parse.GetValue(method)!, ignoreCase: true),
                ModelFile = parse.GetValue(model),
                FitPixels = parse.GetValue(fitPixels),
                Mtl = new MtlOptions
                {
                    Alpha = parse.GetValue(alpha),
                    MaxEpochs = parse.GetValue(epochs),
                    RowBranch = !parse.GetValue(noRow),
                    ColumnBranch = !parse.GetValue(noColumn),
                    Nonlinear = !parse.GetValue(linearOnly),
                    EndmemberSteps = parse.GetValue(endmemberStep) is var es and > 0 ? new StepBounds(es / 5, 1e-7f, es) : default,
                },
                EndmembersFile = parse.GetValue(endmembers),
                EndmemberNames = parse.GetValue(names)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                Resample = parse.GetValue(resample),
                EndmemberCount = parse.GetValue(p),
                Extractor = parse.GetValue(extractor) == "vca" ? EndmemberExtractor.Vca : EndmemberExtractor.NFindr,
                RefineEndmembers = !parse.GetValue(noRefine),
                Normalize = parse.GetValue(normalize) switch { "scale" => PixelScale.Sum, "l2" => PixelScale.Length, "none" => PixelScale.None, _ => null },
                TileSize = parse.GetValue(tile),
                Threads = parse.GetValue(threads),
                MemoryBytes = (long)parse.GetValue(memory) << 20,
                Format = parse.GetValue(format) switch { "cog" => RasterFormat.Cog, "envi" => RasterFormat.Envi, _ => RasterFormat.GTiff },
                OutputNoData = parse.GetValue(outNoData),
                Overwrite = parse.GetValue(overwrite),
                TruthAbundances = parse.GetValue(truth),
                TruthEndmembers = parse.GetValue(truthE),
                ForceGdalReader = parse.GetValue(gdalReader),
                IoOnly = parse.GetValue(ioOnly),
                RoiSelection = new RoiSelection
                {
                    Where = parse.GetValue(roiWhere),
                    Layer = parse.GetValue(roiLayer),
                    FeatureIds = parse.GetValue(roiFids)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                        .Select(s => long.TryParse(s, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"--roi-fid: '{s}' is not a feature id")).ToArray() ?? [],
                    AssumeSceneCrs = parse.GetValue(roiSame),
                },
            }));
    }

    private static Command Unmix(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var output = new Option<string>("-o", "--output") { Description = "Abundance raster to write (side outputs are named after it).", Required = true };
        var (unmixOptions, build) = UnmixOptionSet();
        var cmd = new Command("unmix", """
            Unmix a scene into per-endmember abundance bands plus a residual band.

            Endmembers (unless given): VCA, then N-FINDR's volume-maximising swaps, then archetypal refinement (each
            endmember a convex combination of pixels). The default method, mtl, is the deep multi-task model of
            Mehrdad & Janani (arXiv 2402.03398) on the scaled mixing model y = s E a (per-pixel brightness s): fitted
            on a sample of valid pixels (all of them in a small scene or ROI), starting from the linear solution, then
            applied to every tile. fcls/nnls/scls/ucls are the exact linear solvers.

            Outputs next to -o OUT: OUT (abundances + residual_rmse, georeferenced), OUT's stem + .endmembers.csv/.sli,
            .report.json, .qml (QGIS style, applied on load), .abundances.png, .endmembers.png and, for mtl, .model.json.

            Examples:
              hyperunmix unmix sample-rasters/scene.tif -o abundances.tif
              hyperunmix unmix sample-rasters/scene.img -o a.tif -e sample-rasters/scene_endmembers.csv --method nnls
              hyperunmix unmix sample-rasters/scene.img -o b.tif --model abundances.model.json
              hyperunmix unmix sample-rasters/scene.tif -o roi.tif --roi sample-rasters/roi.geojson --format cog
            """)
        { scene, output };
        foreach (var opt in unmixOptions) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var o = build(parse, parse.GetValue(scene)!, parse.GetValue(output)!);
            var progress = new ProgressReporter();
            var r = UnmixJob.Run(o, progress.Report, cancel);
            Console.WriteLine($"Unmixed {r.ValidPixels} of {r.TotalPixels} pixels into {r.Endmembers.Count} endmembers ({string.Join(", ", r.Endmembers.Names)}) with {o.Method.ToString().ToUpperInvariant()}");
            Console.WriteLine($"  endmembers: {r.EndmemberSource}");
            if (r.Fit is { } fitted)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  deep model: fitted on {fitted.Pixels} pixels, {fitted.Epochs} epochs in {fitted.Seconds:F1} s ({fitted.Gflops / fitted.Seconds:F1} GFLOP/s), loss {fitted.InitialLoss:G4} -> {fitted.FinalLoss:G4}"));
            Console.WriteLine($"  {r.Tiles} tiles of {r.TileSize} px on {r.Workers} threads; reader: {r.ReadPath}; BLAS: {Blas.Default.Name}");
            Console.WriteLine($"  time: {string.Join(", ", r.StageSeconds.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F2} s")))}");
            Console.WriteLine($"Outputs:\n  {r.Output}");
            foreach (var f in r.SideOutputs.Where(File.Exists)) Console.WriteLine($"  {f}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Evaluate()
    {
        var output = new Argument<string>("abundances") { Description = "An abundance raster written by 'unmix'." };
        var truth = new Option<string?>("--truth") { Description = "Ground-truth abundance raster (one band per endmember)." };
        var truthE = new Option<string?>("--truth-endmembers") { Description = "Ground-truth endmember CSV." };
        var est = new Option<string?>("--endmembers") { Description = "Estimated endmembers (default: the run's <stem>.endmembers.csv)." };
        var match = new Option<string>("--match") { Description = "Hungarian matching on 'sad' (spectral angle) or 'abundance' (map RMSE).", DefaultValueFactory = _ => "sad" };
        match.AcceptOnlyFromAmong("sad", "abundance");
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON." };
        var cmd = new Command("evaluate", "Score an unmixing against ground truth: SAD (rad and deg) and abundance RMSE, Hungarian-matched.\n\nExample:\n  hyperunmix evaluate abundances.tif --truth sample-rasters/scene_abundances.tif --truth-endmembers sample-rasters/scene_endmembers.csv")
            { output, truth, truthE, est, match, json };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var raster = parse.GetValue(output)!;
            var estPath = parse.GetValue(est) ?? UnmixJob.OutputNames(new UnmixOptions { Input = "", Output = raster }).Csv;
            var estimated = File.Exists(estPath) ? EndmemberFiles.Load(estPath) : null;
            if (parse.GetValue(est) is { } given && estimated is null) throw new EndmemberFileException(given, "file not found");
            var by = parse.GetValue(match) == "abundance" ? MatchBy.Abundance : MatchBy.Sad;
            var s = Evaluation.Score(raster, parse.GetValue(truth), parse.GetValue(truthE), estimated, null, by);
            var names = estimated?.Names ?? Enumerable.Range(1, s.Match.Length).Select(i => $"EM{i}").ToArray();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(Evaluation.ToJsonObject(s, names), Json));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"Matching: Hungarian on {(by == MatchBy.Sad ? "spectral angle" : "abundance RMSE")}");
            Console.WriteLine($"{"reference",-10} {"estimate",-10} {"SAD rad",9} {"SAD deg",9} {"RMSE",9}");
            for (var r = 0; r < s.Match.Length; r++)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r + 1,-10} {(s.Match[r] >= 0 ? names[s.Match[r]] : "-"),-10} {s.SadRadians[r],9:F4} {s.SadRadians[r] * 180 / Math.PI,9:F2} {s.AbundanceRmsePer[r],9:F4}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{"mean",-21} {s.MeanSadRadians,9:F4} {s.MeanSadDegrees,9:F2} {s.AbundanceRmse,9:F4}   (aRMSE x100 = {s.AbundanceRmse * 100:F2})"));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Synth()
    {
        var output = new Option<string>("-o", "--output") { Description = "Cube to write (.tif or .img); ground truth goes next to it as _abundances.tif and _endmembers.csv.", Required = true };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 100, Description = "Columns." };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 100, Description = "Rows." };
        var bands = new Option<int>("--bands") { DefaultValueFactory = _ => 96, Description = "Bands (built-in spectra; a library sets its own)." };
        var p = new Option<int>("-p", "--endmember-count") { DefaultValueFactory = _ => 4, Description = "Endmembers." };
        var model = new Option<string>("--model") { DefaultValueFactory = _ => "lmm", Description = "lmm | fan | gbm | ppnm | mlm." };
        model.AcceptOnlyFromAmong("lmm", "fan", "gbm", "ppnm", "mlm");
        var snr = new Option<double>("--snr") { DefaultValueFactory = _ => 30, Description = "Signal-to-noise ratio, dB (inf for none)." };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 1, Description = "Random seed." };
        var library = new Option<string?>("--library") { Description = "Spectral library CSV (e.g. the USGS library); built-in spectra when absent." };
        var names = new Option<string?>("--library-names") { Description = "Comma-separated spectra to take from --library." };
        var spatial = new Option<bool>("--spatial") { Description = "Smooth spatial patches instead of independent Dirichlet pixels." };
        var purity = new Option<double?>("--max-purity") { Description = "Largest abundance allowed outside pure pixels." };
        var pure = new Option<int>("--pure-pixels") { DefaultValueFactory = _ => 1, Description = "Pure pixels per endmember." };
        var format = new Option<string>("--format", "-f") { DefaultValueFactory = _ => "gtiff", Description = "gtiff | envi." };
        format.AcceptOnlyFromAmong("gtiff", "envi");
        var epsg = new Option<int>("--epsg") { DefaultValueFactory = _ => 32633, Description = "CRS of the grid." };
        var pixel = new Option<double>("--pixel-size") { DefaultValueFactory = _ => 30, Description = "Pixel size in CRS units." };
        var illumination = new Option<double>("--illumination") { DefaultValueFactory = _ => 1, Description = "Per-pixel illumination: each pixel scaled by a factor drawn in [VALUE, 1] (shading, slopes); 1 for none." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        var cmd = new Command("synth", "Write a synthetic georeferenced scene with ground truth.\n\nExample:\n  hyperunmix synth -o ppnm.tif --model ppnm --snr 30 -p 4 --spatial")
            { output, width, height, bands, p, model, snr, seed, library, names, spatial, purity, pure, illumination, format, epsg, pixel, overwrite };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var r = SyntheticSceneWriter.Write(new SynthOptions
            {
                Output = parse.GetValue(output)!,
                Bands = parse.GetValue(bands),
                EndmemberCount = parse.GetValue(p),
                Library = parse.GetValue(library),
                LibraryNames = parse.GetValue(names)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                Format = parse.GetValue(format) == "envi" ? RasterFormat.Envi : RasterFormat.GTiff,
                Epsg = parse.GetValue(epsg),
                PixelSize = parse.GetValue(pixel),
                Overwrite = parse.GetValue(overwrite),
                Scene = new SceneOptions
                {
                    Width = parse.GetValue(width),
                    Height = parse.GetValue(height),
                    Model = Enum.Parse<MixingModel>(parse.GetValue(model)!, ignoreCase: true),
                    SnrDb = parse.GetValue(snr),
                    Seed = parse.GetValue(seed),
                    Spatial = parse.GetValue(spatial),
                    MaxPurity = parse.GetValue(purity),
                    PurePixels = parse.GetValue(pure),
                    IlluminationMin = parse.GetValue(illumination) is > 0 and <= 1 and var ill ? ill : throw new UsageException($"--illumination must be in (0, 1], got {parse.GetValue(illumination)}"),
                },
            });
            Console.WriteLine($"Synthetic scene ({string.Join(", ", r.Truth.Names)}):\n  {r.Cube}\n  {r.Abundances}\n  {r.Endmembers}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command SampleData()
    {
        var dir = new Argument<string>("folder") { Description = "Folder to write the sample scenes into (created if missing).", DefaultValueFactory = _ => "sample-rasters" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing files." };
        var cmd = new Command("sample-data", "Regenerate the project's sample-rasters/ (deterministic).") { dir, overwrite };
        cmd.SetAction(parse => Guard(parse, () =>
        {
            foreach (var f in SampleRasters.Write(parse.GetValue(dir)!, parse.GetValue(overwrite))) Console.WriteLine($"  {f}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static double? ParseNoData(string? s) => s is null ? null
        : s.Equals("nan", StringComparison.OrdinalIgnoreCase) ? double.NaN
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
        : throw new UsageException($"--nodata: '{s}' is not a number or 'nan'");

    /// <summary>Parses "1-10,12,20-30" (1-based, inclusive) into 0-based band indices.</summary>
    internal static int[]? ParseBands(string? s)
    {
        if (s is null) return null;
        var result = new List<int>();
        foreach (var part in s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length is < 1 or > 2 || !range.All(r => int.TryParse(r, CultureInfo.InvariantCulture, out var v) && v >= 1))
                throw new UsageException($"--bands: '{part}' is not a band number or range like 10-20 (bands are 1-based)");
            int a = int.Parse(range[0], CultureInfo.InvariantCulture), b = int.Parse(range[^1], CultureInfo.InvariantCulture);
            if (b < a) throw new UsageException($"--bands: range '{part}' is reversed");
            for (var i = a; i <= b; i++) result.Add(i - 1);
        }
        return result.Count > 0 ? result.ToArray() : throw new UsageException("--bands selects no band");
    }
}
