namespace HyperUnmix.Geo.Cli;

/// <summary>The <c>hyperunmix</c> command tree.</summary>
internal static partial class Commands
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
        root.Subcommands.Add(Mesma(cancel));
        root.Subcommands.Add(Library(cancel));
        root.Subcommands.Add(Evaluate());
        root.Subcommands.Add(Synth());
        root.Subcommands.Add(SampleData());
        root.Subcommands.Add(PluginChoices());
        root.Subcommands.Add(ClusterCommands.Worker(cancel));
        root.Subcommands.Add(ClusterCommands.Cluster(UnmixOptionSet, MesmaOptionSet, cancel));
        return root;
    }

    private static Argument<string> SceneArgument() => new("scene") { Description = "Input raster: ENVI (.img/.dat with .hdr; the .hdr itself opens its data file), GeoTIFF, VRT or any GDAL raster." };

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

    private sealed record InputOptions(Option<string?> NoData, Option<bool> NanAsNoData, Option<string?> Bands, Option<bool> DropBad, Option<bool> KeepAbsorption,
        Option<double> Scale, Option<int> Sample, Option<long> Seed, Option<string?> Roi, Option<string?> Masks)
    {
        public static InputOptions Create() => new(
            new Option<string?>("--nodata") { Description = "Input nodata value for every band (a number or 'nan'); overrides the file's." },
            new Option<bool>("--nan-as-nodata") { Description = "Treat non-finite samples (NaN, +/-Inf) as nodata (default: they are an error unless they are the band's nodata value)." },
            new Option<string?>("--bands") { Description = "Bands to use, 1-based: '1-100,120-150'." },
            new Option<bool>("--drop-bad-bands") { Description = "Leave out the bands flagged bad in the header (ENVI bbl) also from the bands --bands names (without --bands the screening leaves them out anyway)." },
            new Option<bool>("--keep-absorption-bands") { Description = "Keep the atmospheric absorption windows (1340-1450, 1800-1960, > 2450 nm), left out by default when the wavelengths are known." },
            new Option<double>("--scale") { Description = "Multiply input values by this factor (e.g. 0.0001 for reflectance x 10000) when the file declares no band scale of its own (a declared scale is always applied, and the two are not combined).", DefaultValueFactory = _ => 1.0 },
            new Option<int>("--sample") { Description = "Pixels sampled (spatially stratified) for HySime and VCA.", DefaultValueFactory = _ => 20000 },
            new Option<long>("--seed") { Description = "Seed for sampling and VCA; same seed, same result.", DefaultValueFactory = _ => 42 },
            new Option<string?>("--roi") { Description = "Polygons (GeoJSON, Shapefile, GeoPackage, ...) to clip to." },
            MasksOption());

        public IEnumerable<Option> All => [NoData, NanAsNoData, Bands, DropBad, KeepAbsorption, Scale, Sample, Seed, Roi, Masks];

        public UnmixOptions Apply(ParseResult p, UnmixOptions o) => o with
        {
            Scene = o.Scene with
            {
                InputNoData = ParseNoData(p.GetValue(NoData)),
                NanAsNoData = p.GetValue(NanAsNoData),
                Bands = ParseBands(p.GetValue(Bands)),
                DropBadBands = p.GetValue(DropBad),
                DropAbsorptionBands = !p.GetValue(KeepAbsorption),
                InputScale = p.GetValue(Scale),
                Roi = p.GetValue(Roi),
                Masks = ParseMasks(p.GetValue(Masks)),
            },
            Endmembers = o.Endmembers with { SampleSize = p.GetValue(Sample) },
            Seed = p.GetValue(Seed),
        };
    }

    /// <summary>--masks: which of a sensor product's quality masks make pixels nodata.</summary>
    internal static Option<string?> MasksOption() => new("--masks")
    {
        Description = "Sensor products only: the product masks that make pixels nodata, e.g. 'CLOUD,CLOUDSHADOW' or 'none' " +
                      "(default: all the product has; EnMAP: PIXELMASK,CLOUD,CLOUDSHADOW,HAZE,SNOW,CIRRUS).",
    };

    internal static string[]? ParseMasks(string? s) => s is null ? null
        : s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } names ? names
        : throw new UsageException("--masks: give mask names separated by commas, or 'none'");

    internal static double? ParseNoData(string? s) => s is null ? null
        : s.Equals("nan", StringComparison.OrdinalIgnoreCase) ? double.NaN
        : double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
        : throw new UsageException($"--nodata: '{s}' is not a number or 'nan'");

    /// <summary>The highest band number <c>--bands</c> accepts: a TIFF holds at most 65,535 samples per pixel, and no sensor has more bands.</summary>
    internal const int MaxBandNumber = 65535;

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
            // Checked here, before any list is built: 1-2147483647 once took 87 s and 8-12 GB before failing.
            if (b > MaxBandNumber || result.Count + (b - a + 1) > MaxBandNumber)
                throw new UsageException($"--bands: '{part}' goes beyond band {MaxBandNumber}, more bands than any raster holds");
            for (var i = a; i <= b; i++) result.Add(i - 1);
        }
        return result.Count > 0 ? result.ToArray() : throw new UsageException("--bands selects no band");
    }
}
