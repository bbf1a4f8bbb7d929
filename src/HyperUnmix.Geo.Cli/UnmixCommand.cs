namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    /// <summary>--extractor, with the registry's names as its choices.</summary>
    private static Option<string> ExtractorOption()
    {
        var extractor = new Option<string>("--extractor") { Description = "Endmember extraction: " + UnmixChoices.ExtractorHelp, DefaultValueFactory = _ => EndmemberExtractors.Default };
        extractor.AcceptOnlyFromAmong([.. UnmixChoices.Extractors]);
        return extractor;
    }

    /// <summary>The options of an unmixing run (shared by unmix and cluster submit) and how to read them.</summary>
    private static (List<Option> Options, Func<ParseResult, string, string, UnmixOptions> Build) UnmixOptionSet()
    {
        var common = InputOptions.Create();
        var method = new Option<string>("--method", "-m") { Description = UnmixChoices.MethodHelp, DefaultValueFactory = _ => UnmixMethod.Mtl };
        method.AcceptOnlyFromAmong([.. UnmixChoices.Methods]);
        var model = new Option<string?>("--model") { Description = "Apply a fitted deep model (a .model.json from an earlier run) instead of fitting one." };
        var alpha = new Option<double>("--alpha") { Description = "mtl: weight of the auxiliary NMF task.", DefaultValueFactory = _ => new MtlOptions().Alpha };
        // Checked here: a NaN or infinite weight reached the model file's JSON writer, whose own message was printed.
        alpha.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<double>();
            if (!double.IsFinite(v) || v < 0) r.AddError($"--alpha must be a finite number of at least 0, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var epochs = new Option<int>("--epochs") { Description = "mtl: maximum training epochs.", DefaultValueFactory = _ => new MtlOptions().MaxEpochs };
        var fitPixels = new Option<int>("--fit-pixels") { Description = "mtl: pixels the model is fitted on (all valid pixels when fewer).", DefaultValueFactory = _ => 10000 };
        var noRow = new Option<bool>("--no-row-branch") { Description = "mtl ablation: drop the row (endmember) branch." };
        var noColumn = new Option<bool>("--no-column-branch") { Description = "mtl ablation: drop the column (abundance) branch." };
        var linearOnly = new Option<bool>("--linear-only") { Description = "mtl ablation: drop both networks (a regularised NMF)." };
        var keepNetwork = new Option<bool>("--keep-network") { Description = "mtl: keep the fitted network even when it reconstructs held-out pixels no better than a linear re-mix of the endmembers (by default the run then returns the linear start)." };
        var noPixelTest = new Option<bool>("--no-pixel-test") { Description = "mtl: give every pixel the network's solution (the paper's procedure); by default a pixel keeps its linear start unless the network removes at least half of the squared residual that start leaves." };
        var endmemberStep = new Option<float>("--endmember-step") { Description = "mtl: largest iRprop+ step of the endmembers (0 keeps them fixed; > 0 also trains the row branch).", DefaultValueFactory = _ => 0f };
        var endmembers = new Option<string?>("--endmembers", "-e") { Description = "Endmember spectra: CSV (one row per band) or ENVI spectral library (.sli)." };
        var names = new Option<string?>("--endmember-names") { Description = "Comma-separated spectra to take from --endmembers." };
        var resample = new Option<bool>("--resample") { Description = "Interpolate --endmembers spectra to the scene's wavelengths when they differ." };
        var p = new Option<int?>("-p", "--endmember-count") { Description = "Endmembers to extract (default: the elbow of the unmixing residual; see the estimate command)." };
        var extractor = ExtractorOption();
        var noRefine = new Option<bool>("--no-refine") { Description = "Keep the extracted endmembers as they are (no archetypal refinement, no projection onto the signal subspace)." };
        var normalize = new Option<string>("--normalize") { Description = "Pixel brightness: scale (y = s E a, per-pixel scale; default for mtl) | l2 (unit-length pixels) | none (default for the classic solvers).", DefaultValueFactory = _ => "auto" };
        normalize.AcceptOnlyFromAmong([.. UnmixChoices.Normalizations]);
        var tile = new Option<int>("--tile") { Description = "Tile side in pixels.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var memory = new Option<int>("--memory") { Description = "Memory budget for tiles in flight, MB.", DefaultValueFactory = _ => 1024 };
        var format = new Option<string>("--format", "-f") { Description = "gtiff | cog | envi.", DefaultValueFactory = _ => "gtiff" };
        format.AcceptOnlyFromAmong("gtiff", "cog", "envi");
        var fractions = new Option<string>("--fractions") { Description = "physical: area shares (default) | signal: each material's share of the pixel's signal (the convention of brightness-weighted references such as Samson's).", DefaultValueFactory = _ => "physical" };
        fractions.AcceptOnlyFromAmong("physical", "signal");
        var outNoData = new Option<float>("--output-nodata")
        {
            Description = "Nodata value written to the output (a float32 value, or nan).",
            DefaultValueFactory = _ => -9999f,
            // A value beyond float32 (1e39) was silently written as +Inf; "nan" is the one non-finite value accepted.
            CustomParser = r =>
            {
                var t = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (t.Equals("nan", StringComparison.OrdinalIgnoreCase)) return float.NaN;
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && Math.Abs(v) <= float.MaxValue) return (float)v;
                r.AddError($"--output-nodata: '{t}' is not a float32 value (at most ±3.4e38) or nan");
                return 0;
            },
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        var truth = new Option<string?>("--truth") { Description = "Ground-truth abundances, for metrics in the report." };
        var truthE = new Option<string?>("--truth-endmembers") { Description = "Ground-truth endmembers CSV, for SAD in the report." };
        var roiWhere = new Option<string?>("--roi-where") { Description = "Attribute filter for --roi (OGR SQL WHERE clause)." };
        var roiLayer = new Option<string?>("--roi-layer") { Description = "Layer of --roi (default: the first)." };
        var roiFids = new Option<string?>("--roi-fid") { Description = "Comma-separated feature ids of --roi to use." };
        var roiSame = new Option<bool>("--roi-assume-scene-crs") { Description = "Read polygon coordinates in the scene's CRS (or pixel coordinates when the scene has none)." };
        var gdalReader = new Option<bool>("--gdal-reader") { Description = "Read through GDAL RasterIO even where the file can be read directly (uncompressed float32)." };
        var ioOnly = new Option<bool>("--io-only") { Description = "Benchmark aid: read and write everything without unmixing (the I/O floor)." };
        List<Option> options = [method, endmembers, names, resample, p, extractor, noRefine, normalize, fractions, tile, threads, memory, format, outNoData, overwrite, truth, truthE, roiWhere, roiLayer, roiFids, roiSame, gdalReader, ioOnly, model, alpha, epochs, fitPixels, noRow, noColumn, linearOnly, keepNetwork, noPixelTest, endmemberStep];
        options.AddRange(common.All);
        return (options, (parse, input, output_) => common.Apply(parse, new UnmixOptions
        {
            Scene = new SceneInput
            {
                Input = input,
                ForceGdalReader = parse.GetValue(gdalReader),
                RoiSelection = new RoiSelection
                {
                    Where = parse.GetValue(roiWhere),
                    Layer = parse.GetValue(roiLayer),
                    FeatureIds = parse.GetValue(roiFids)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                        .Select(s => long.TryParse(s, CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"--roi-fid: '{s}' is not a feature id")).ToArray() ?? [],
                    AssumeSceneCrs = parse.GetValue(roiSame),
                },
            },
            Endmembers = new EndmemberOptions
            {
                EndmembersFile = parse.GetValue(endmembers),
                EndmemberNames = parse.GetValue(names)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                Resample = parse.GetValue(resample),
                EndmemberCount = parse.GetValue(p),
                Extractor = parse.GetValue(extractor)!,
                RefineEndmembers = !parse.GetValue(noRefine),
            },
            Method = new MethodOptions
            {
                Name = parse.GetValue(method)!,
                ModelFile = parse.GetValue(model),
                FitPixels = parse.GetValue(fitPixels),
                Mtl = new MtlOptions
                {
                    Alpha = parse.GetValue(alpha),
                    MaxEpochs = parse.GetValue(epochs),
                    RowBranch = !parse.GetValue(noRow),
                    ColumnBranch = !parse.GetValue(noColumn),
                    Nonlinear = !parse.GetValue(linearOnly),
                    RequireNonlinearGain = !parse.GetValue(keepNetwork),
                    PixelTest = !parse.GetValue(noPixelTest),
                    EndmemberSteps = parse.GetValue(endmemberStep) is var es and > 0 ? new StepBounds(es / 5, 1e-7f, es) : default,
                },
                SignalFractions = parse.GetValue(fractions) == "signal",
                Normalize = PixelScales.Parse(parse.GetValue(normalize)),
            },
            Outputs = new OutputOptions
            {
                Output = output_,
                Format = parse.GetValue(format) switch { "cog" => RasterFormat.Cog, "envi" => RasterFormat.Envi, _ => RasterFormat.GTiff },
                OutputNoData = parse.GetValue(outNoData),
                Overwrite = parse.GetValue(overwrite),
                TruthAbundances = parse.GetValue(truth),
                TruthEndmembers = parse.GetValue(truthE),
            },
            Execution = new ExecutionOptions
            {
                TileSize = parse.GetValue(tile),
                Threads = parse.GetValue(threads),
                MemoryBytes = (long)parse.GetValue(memory) << 20,
                IoOnly = parse.GetValue(ioOnly),
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
            Console.WriteLine($"Unmixed {r.ValidPixels} of {r.TotalPixels} pixels into {r.Endmembers.Count} endmembers ({string.Join(", ", r.Endmembers.Names)}) with {o.Method.Name.ToUpperInvariant()}");
            if (r.Screen is { } screen)
            {
                Console.WriteLine($"  values: {screen.Values}");
                Console.WriteLine($"  screening: {screen.Summary(r.RequestedBands)}");
            }
            Console.WriteLine($"  endmembers: {r.EndmemberSource}");
            if (r.Brightness is { } brightness) Console.WriteLine($"  brightness: {brightness.Reason}");
            if (r.Fit is { } fitted)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  deep model: fitted on {fitted.Pixels} pixels, {fitted.Epochs} epochs in {fitted.Seconds:F1} s ({fitted.Gflops / fitted.Seconds:F1} GFLOP/s), loss {fitted.InitialLoss:G4} -> {fitted.FinalLoss:G4}"));
            if (r.Fit?.Test is { } test) Console.WriteLine($"  nonlinearity: {test.Reason}");
            Console.WriteLine($"  {r.Tiles} tiles of {r.TileSize} px on {r.Workers} threads; reader: {r.ReadPath}; BLAS: {Blas.Default.Name}");
            Console.WriteLine($"  time: {string.Join(", ", r.StageSeconds.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F2} s")))}");
            Console.WriteLine($"Outputs:\n  {r.Output}");
            foreach (var f in r.SideOutputs.Where(File.Exists)) Console.WriteLine($"  {f}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
