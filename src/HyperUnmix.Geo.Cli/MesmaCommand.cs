using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    /// <summary>The options of a MESMA run (shared by mesma and cluster mesma) and how to read them, for a scene and its output.</summary>
    internal static (List<Option> Options, Func<ParseResult, string, string, MesmaOptions> Build) MesmaOptionSet()
    {
        var common = InputOptions.Create();
        var library = new Option<string>("--library", "-l") { Description = "Spectral library: ENVI .sli (+ EnMAP-Box .csv/.json sidecars), CSV (one row per band), EnMAP-Box .gpkg/.geojson, a USGS splib07 ASCII folder/file or an ECOSTRESS folder/file (.txt).", Required = true };
        var classField = new Option<string?>("--class-field") { Description = "The library's class column (default: its first, e.g. level_1; without class columns every spectrum is its own class)." };
        var classes = new Option<string?>("--classes") { Description = "Comma-separated classes to use (default: all)." };
        var levels = new Option<string>("--levels") { Description = "Library spectra per model, comma-separated, 1-4 (shade comes on top).", DefaultValueFactory = _ => "2,3" };
        var gain = new Option<double>("--min-rmse-gain") { Description = "A higher level is kept only if it lowers the RMSE by at least this (reflectance).", DefaultValueFactory = _ => new MesmaSettings().MinRmseGain };
        var ftest = new Option<double?>("--f-test") { Description = "Choose the level by an F-test at this significance (e.g. 0.01) instead of --min-rmse-gain: noise-aware, the residual of the larger model is the noise estimate." };
        var minF = new Option<double>("--min-fraction") { Description = "Smallest allowed fraction.", DefaultValueFactory = _ => -0.05 };
        var maxF = new Option<double>("--max-fraction") { Description = "Largest allowed fraction.", DefaultValueFactory = _ => 1.05 };
        var maxShade = new Option<double>("--max-shade") { Description = "Largest allowed shade fraction (smallest: 0).", DefaultValueFactory = _ => 0.8 };
        var maxRmse = new Option<double>("--max-rmse") { Description = "Largest allowed model RMSE (reflectance).", DefaultValueFactory = _ => 0.025 };
        var maxModels = new Option<long>("--max-models") { Description = "Refuse more models than this.", DefaultValueFactory = _ => 200_000L };
        var normalised = new Option<bool>("--shade-normalised") { Description = "Also write the class fractions divided by their sum (shade removed)." };
        var uncertainty = new Option<double?>("--uncertainty") { Description = "Also write each class fraction's standard deviation over the valid models of the chosen level whose RMSE is within this of the best (e.g. 0.001), and their count (near_models)." };
        var monteCarlo = new Option<int>("--monte-carlo") { Description = "Also write each class fraction's standard deviation over this many MESMA runs, each with a random subset of the library (CLASS_mc_sd), and how many runs modelled the pixel (mc_runs), as EMIT's fractional cover reports.", DefaultValueFactory = _ => 0 };
        var mcFraction = new Option<double>("--monte-carlo-fraction") { Description = "The share of each class's spectra in a Monte Carlo run (at least one).", DefaultValueFactory = _ => 0.5 };
        var wlUnit = new Option<string?>("--library-wavelength-unit") { Description = "nm | um: state the library's wavelength unit (default: from the file, else detected)." };
        wlUnit.AcceptOnlyFromAmong("nm", "um");
        var libScale = new Option<double?>("--library-scale") { Description = "The library value that means reflectance 1: 1, 100 or 10000 (default: from the file, else detected)." };
        var assumeCrs = new Option<bool>("--roi-assume-scene-crs") { Description = "Read --roi's coordinates in the scene's CRS (or as pixel coordinates when the scene has none), whatever the layer says." };
        var dropUncovered = new Option<bool>("--drop-uncovered-bands") { Description = "Leave out scene bands the library has no samples near (refused by default)." };
        var tile = new Option<int>("--tile") { Description = "Tile side in pixels.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var memory = new Option<int>("--memory") { Description = "Memory budget for tiles in flight, MB.", DefaultValueFactory = _ => 1024 };
        var format = new Option<string>("--format", "-f") { Description = "gtiff | cog | envi.", DefaultValueFactory = _ => "gtiff" };
        format.AcceptOnlyFromAmong("gtiff", "cog", "envi");
        var outNoData = new Option<float>("--output-nodata") { Description = "Nodata value written to the output.", DefaultValueFactory = _ => -9999f };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace existing outputs." };
        List<Option> options = [library, classField, classes, levels, gain, ftest, minF, maxF, maxShade, maxRmse, maxModels, normalised, uncertainty, monteCarlo, mcFraction, wlUnit, libScale, dropUncovered, assumeCrs, tile, threads, memory, format, outNoData, overwrite, .. common.All];
        return (options, (parse, input, output) =>
        {
            var o = common.Apply(parse, new UnmixOptions
            {
                Scene = new SceneInput { Input = input, RoiSelection = new RoiSelection { AssumeSceneCrs = parse.GetValue(assumeCrs) } },
                Outputs = new OutputOptions
                {
                    Output = output,
                    Format = parse.GetValue(format) switch { "cog" => RasterFormat.Cog, "envi" => RasterFormat.Envi, _ => RasterFormat.GTiff },
                    OutputNoData = parse.GetValue(outNoData),
                    Overwrite = parse.GetValue(overwrite),
                },
                Execution = new ExecutionOptions { TileSize = parse.GetValue(tile), Threads = parse.GetValue(threads), MemoryBytes = (long)parse.GetValue(memory) << 20 },
            });
            var lv = parse.GetValue(levels)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out var v) && v is >= 1 and <= MesmaModels.MaxLevel ? v
                    : throw new UsageException($"--levels: '{s}' is not a number of library spectra 1-{MesmaModels.MaxLevel}")).ToArray();
            if (parse.GetValue(ftest) is { } a && a is not (> 0 and < 1)) throw new UsageException($"--f-test: the significance must be between 0 and 1, got {a}");
            if (parse.GetValue(gain) < 0) throw new UsageException("--min-rmse-gain must not be negative");
            if (parse.GetValue(monteCarlo) is var runs && runs is < 0 or > 1000) throw new UsageException($"--monte-carlo: the number of runs must be 0-1000, not {runs}");
            if (parse.GetValue(mcFraction) is var fraction && fraction is not (> 0 and <= 1)) throw new UsageException($"--monte-carlo-fraction must be in (0, 1], not {fraction}");
            var settings = new MesmaSettings
            {
                MonteCarloRuns = runs,
                MonteCarloFraction = fraction,
                MonteCarloSeed = unchecked((int)o.Seed),
                Levels = lv,
                MinRmseGain = parse.GetValue(gain),
                FTestAlpha = parse.GetValue(ftest),
                MinFraction = parse.GetValue(minF),
                MaxFraction = parse.GetValue(maxF),
                MaxShade = parse.GetValue(maxShade),
                MaxRmse = parse.GetValue(maxRmse),
                MaxModels = parse.GetValue(maxModels),
                ShadeNormalised = parse.GetValue(normalised),
                UncertaintyRmse = parse.GetValue(uncertainty) is { } u && u >= 0 ? u : parse.GetValue(uncertainty) is null ? null : throw new UsageException("--uncertainty must not be negative"),
            };
            return new MesmaOptions
            {
                Scene = o,
                Library = parse.GetValue(library)!,
                ClassField = parse.GetValue(classField),
                Classes = parse.GetValue(classes)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                Units = new LibraryUnits(parse.GetValue(wlUnit), parse.GetValue(libScale)),
                Settings = settings,
                DropUncoveredBands = parse.GetValue(dropUncovered),
            };
        });
    }

    private static Command Mesma(CancellationToken cancel)
    {
        var scene = SceneArgument();
        var output = new Option<string>("-o", "--output") { Description = "Class-fraction raster to write (OUT's stem + .models.csv and .qml next to it).", Required = true };
        var (options, build) = MesmaOptionSet();
        var cmd = new Command("mesma", """
            Class fractions with a spectral library: MESMA (Multiple Endmember Spectral Mixture Analysis, Roberts et
            al. 1998). Each pixel tries every model of --levels library spectra (at most one per class) plus
            photometric shade, fitted by least squares; models whose fractions, shade or RMSE break the constraints
            are refused, and the best model is kept (a higher level only when it lowers the RMSE by --min-rmse-gain).

            Outputs: OUT with one fraction band per class, then shade, rmse, model (index into OUT's stem +
            .models.csv; -1 where no model fits), with --shade-normalised the fractions divided by their sum, with
            --uncertainty the spread over the near-best models, with --monte-carlo N the spread over N runs on random
            library subsets.

            Example:
              hyperunmix mesma enmap.tif --library library_berlin.sli --class-field level_1 --drop-uncovered-bands -o fractions.tif
            """) { scene, output };
        foreach (var opt in options) cmd.Options.Add(opt);
        cmd.SetAction(parse => Guard(parse, () =>
        {
            var mo = build(parse, parse.GetValue(scene)!, parse.GetValue(output)!);
            var r = MesmaJob.Run(mo, line => Console.WriteLine($"  {line}"), cancel);
            var levelsText = string.Join(", ", r.PixelsPerLevel.Select((c, k) => (c, k)).Where(t => t.c > 0).Select(t => $"{t.c} with {t.k} spectra"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"MESMA: {r.ValidPixels} pixels, {r.Models} models, {r.ClassNames.Length} classes of '{r.ClassField}' ({string.Join(", ", r.ClassNames)}); {levelsText}; {r.Unmodelled} unmodelled; {r.Seconds:F2} s on {r.Workers} threads"));
            Console.WriteLine($"Outputs:\n  {r.Output}\n  {r.ModelTable}\n  {r.Style}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
