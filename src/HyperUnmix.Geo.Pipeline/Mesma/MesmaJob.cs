using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>A MESMA run: the scene options every run shares (input, output, bands, ROI, tiles, memory, scale, nodata) and the library's.</summary>
public sealed record MesmaOptions
{
    /// <summary>Input, output, bands, ROI, tile size, threads, memory, format, scale, nodata, overwrite: as for unmix.</summary>
    public required UnmixOptions Scene { get; init; }
    /// <summary>
    /// The spectral library (wavelengths required): ENVI .sli + .hdr (with EnMAP-Box's class sidecars), CSV, an EnMAP-Box
    /// vector library (.gpkg, .geojson), or USGS splib07 / ECOSTRESS text files (a file or a folder of them).
    /// </summary>
    public required string Library { get; init; }
    /// <summary>The library's class column (default: its first; without any, every spectrum is its own class).</summary>
    public string? ClassField { get; init; }
    /// <summary>Only these classes (all when empty).</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];
    /// <summary>The library's wavelength unit and reflectance scale, where stated; by default read from the file, else detected.</summary>
    public LibraryUnits Units { get; init; } = new();
    /// <summary>Model levels, fraction, shade and RMSE constraints, level rule and uncertainty outputs (<see cref="MesmaSettings"/>).</summary>
    public MesmaSettings Settings { get; init; } = new();
    /// <summary>Leave out scene bands the library does not cover (refused otherwise).</summary>
    public bool DropUncoveredBands { get; init; }
}

/// <summary>What a MESMA run wrote and measured.</summary>
public sealed record MesmaResult
{
    /// <summary>The output raster, full path.</summary>
    public required string Output { get; init; }
    /// <summary>The model table (STEM.models.csv), full path: the raster's model band indexes its rows.</summary>
    public required string ModelTable { get; init; }
    /// <summary>The QGIS style (STEM.qml), full path.</summary>
    public required string Style { get; init; }
    /// <summary>
    /// The output's bands in order: one fraction per class, shade, rmse, model; then, as the settings ask, CLASS_normalised,
    /// CLASS_sd and near_models, CLASS_mc_sd and mc_runs.
    /// </summary>
    public required string[] BandNames { get; init; }
    /// <summary>The library's class column used ("spectrum" when it has none: every spectrum its own class).</summary>
    public required string ClassField { get; init; }
    /// <summary>The classes, in order of first appearance in the library (only those asked for).</summary>
    public required string[] ClassNames { get; init; }
    /// <summary>Library spectra used (those of <see cref="ClassNames"/>).</summary>
    public required int Spectra { get; init; }
    /// <summary>Models enumerated and tried on every pixel (singular ones excluded).</summary>
    public required int Models { get; init; }
    /// <summary>Models left out because their spectra are linearly dependent.</summary>
    public required int SingularModels { get; init; }
    /// <summary>Scene bands used: those selected, kept by the screening and covered by the library.</summary>
    public required int BandsUsed { get; init; }
    /// <summary>How the library's wavelength unit and reflectance scale were decided (stated, read from the file, or detected).</summary>
    public required string LibraryUnits { get; init; }
    /// <summary>How the library was resampled to the scene's bands, and which bands it covers.</summary>
    public required ResampleReport Resampling { get; init; }
    /// <summary>Pixels solved: in the area, not nodata, inside the ROI and not 0 in every band (<see cref="Unmodelled"/> included).</summary>
    public required long ValidPixels { get; init; }
    /// <summary>Valid pixels no model fitted within the constraints.</summary>
    public required long Unmodelled { get; init; }
    /// <summary>Pixels per chosen level (index: the level).</summary>
    public required long[] PixelsPerLevel { get; init; }
    /// <summary>Wall-clock seconds of the whole run.</summary>
    public required double Seconds { get; init; }
    /// <summary>Number of tiles the area was split into.</summary>
    public required int Tiles { get; init; }
    /// <summary>Tile side in pixels, after the memory budget.</summary>
    public required int TileSize { get; init; }
    /// <summary>Tiles solved in parallel.</summary>
    public required int Workers { get; init; }
}

/// <summary>
/// MESMA over a scene, through the same pieces as every run (<see cref="ScenePlanner"/>'s scene opening, band
/// screening and memory plan, <see cref="RegionOfInterest"/>, the tile grid, <see cref="RasterSink"/> in an
/// <see cref="OutputSet"/>): the library is read and resampled to the scene's bands, the models enumerated once,
/// then tiles are solved in parallel (<see cref="MesmaSolver"/>; a pixel's result depends on the pixel alone, so the
/// bytes do not depend on the tile size or thread count). Outputs: one fraction band per class, shade, rmse, model
/// (index into STEM.models.csv), optionally the shade-normalised fractions; STEM.qml.
/// </summary>
public static class MesmaJob
{
    /// <summary>The model table of a run writing <paramref name="output"/>: STEM.models.csv beside it, full path.</summary>
    internal static string ModelTablePath(string output) => Stem(output) + ".models.csv";
    /// <summary>The QGIS style of a run writing <paramref name="output"/>: STEM.qml beside it, full path.</summary>
    internal static string StylePath(string output) => Stem(output) + ".qml";
    private static string Stem(string output)
    {
        var full = Path.GetFullPath(output);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
    }

    /// <summary>The scene options of a MESMA run, as a run with given endmembers and a linear solver: no sample is needed for endmembers.</summary>
    internal static UnmixOptions SceneOptions(MesmaOptions mo) =>
        mo.Scene with
        {
            Method = mo.Scene.Method with { Name = UnmixMethod.Fcls, Normalize = Unmixing.Solvers.PixelScale.None },
            Endmembers = mo.Scene.Endmembers with { EndmembersFile = mo.Library },
        };

    /// <summary>Runs MESMA over a scene on this machine: <see cref="Prepare"/>, then the tiles in parallel into the raster.</summary>
    public static MesmaResult Run(MesmaOptions mo, Action<string>? log = null, CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        var o = SceneOptions(mo);
        ScenePlanner.Validate(o);
        var (opened, bands, roi, area) = ScenePlanner.OpenScene(o, cancel);
        using var source = opened;
        using var outputs = Reserve(mo, source, o.Outputs.Overwrite);
        var (plan, models) = Prepare(mo, source, bands, roi, area, log, cancel);
        using var tiles = new MesmaTiles(plan, source, roi, models, ownsSource: false);
        if (tiles.MonteCarloModels is { Length: > 0 } runs)
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"monte carlo: {runs.Length} runs of {mo.Settings.MonteCarloFraction * 100:G3}% of each class's spectra ({runs.Sum(m => (long)m.Count):N0} models in all), seed {mo.Settings.MonteCarloSeed}"));
        var grid = plan.Grid;
        var sink = RasterSink.Create(outputs, o.Outputs.Output, plan.Profile(source.Info), o.Outputs.Format);
        long valid = 0, unmodelled = 0;
        var perLevel = new long[MesmaModels.MaxLevel + 1];
        try
        {
            var pool = new ConcurrentBag<MesmaTiles.Workspace>();
            try
            {
                Parallel.For(0, grid.Count, new ParallelOptions { MaxDegreeOfParallelism = plan.Workers, CancellationToken = cancel },
                    () => pool.TryTake(out var w) ? w : tiles.CreateWorkspace(),
                    (index, _, w) =>
                    {
                        var window = grid[index].Window;
                        var (v, u) = tiles.Process(index, w, perLevel);
                        sink.WriteTile(window.RelativeTo(area), w.Output.AsSpan(0, (int)(tiles.OutputBands * window.Area)));
                        Interlocked.Add(ref valid, v);
                        Interlocked.Add(ref unmodelled, u);
                        return w;
                    },
                    pool.Add);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                throw e.InnerExceptions[0];
            }
            cancel.ThrowIfCancellationRequested();
            if (valid == 0) throw ScenePlanner.NoValidPixel(o, roi is not null);
            sink.Commit();
        }
        finally
        {
            sink.Dispose();
        }
        WriteSideOutputs(plan, models, outputs);
        cancel.ThrowIfCancellationRequested();
        outputs.Commit();
        return new MesmaResult
        {
            Output = Path.GetFullPath(o.Outputs.Output),
            ModelTable = ModelTablePath(o.Outputs.Output),
            Style = StylePath(o.Outputs.Output),
            BandNames = plan.BandNames,
            ClassField = plan.ClassField,
            ClassNames = plan.ClassNames,
            Spectra = plan.Spectra.Length,
            Models = models.Count,
            SingularModels = models.Singular,
            BandsUsed = plan.Bands.Length,
            LibraryUnits = plan.LibraryUnits,
            Resampling = plan.Resampling,
            ValidPixels = valid,
            Unmodelled = unmodelled,
            PixelsPerLevel = perLevel,
            Seconds = clock.Elapsed.TotalSeconds,
            Tiles = grid.Count,
            TileSize = plan.TileSize,
            Workers = plan.Workers,
        };
    }

    /// <summary>
    /// Plans a MESMA scene for tiles processed elsewhere (the cluster runner): the library read, matched to the
    /// scene's bands and enumerated into models exactly as <see cref="Run"/> does, with every check it makes (a bad
    /// library or scene fails here, before any tile). The scene stays open for the caller (who disposes it), so a
    /// runner that goes on with its tiles reads through the blocks the screening decompressed.
    /// </summary>
    internal static (MesmaPlan Plan, RasterSource Source) PlanSceneKeepingSource(MesmaOptions mo, Action<string>? log = null, CancellationToken cancel = default)
    {
        var o = SceneOptions(mo);
        ScenePlanner.Validate(o);
        var (source, bands, roi, area) = ScenePlanner.OpenScene(o, cancel);
        try
        {
            return (Prepare(mo, source, bands, roi, area, log, cancel).Plan, source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What a cluster job checks up front for a MESMA run of <paramref name="mo"/>: the scene opens, the library reads
    /// and has the class field and classes asked for, and the outputs can be reserved (then released).
    /// </summary>
    public static void CheckOutputs(MesmaOptions mo)
    {
        var o = SceneOptions(mo);
        ScenePlanner.Validate(o);
        using var source = ScenePlanner.OpenInput(o);
        using var set = Reserve(mo, source, o.Outputs.Overwrite);
        Classes(SpectralLibraries.Read(mo.Library, mo.Units), mo);
    }

    /// <summary>
    /// Writes a planned scene's outputs from its tiles' outputs (<paramref name="tile"/>: tile k's valid-pixel count
    /// and band-sequential output), with the same sink, profile and side outputs as <see cref="Run"/>: the bytes of a
    /// single-machine run. The job owns its outputs, so they are replaced.
    /// </summary>
    internal static void Assemble(MesmaPlan plan, Func<int, (int Valid, float[] Output)> tile, CancellationToken cancel = default)
    {
        var o = SceneOptions(plan.Options);
        using var source = ScenePlanner.OpenInput(o);
        using var outputs = Reserve(plan.Options, source, overwrite: true);
        var grid = plan.Grid;
        var sink = RasterSink.Create(outputs, o.Outputs.Output, plan.Profile(source.Info), o.Outputs.Format);
        try
        {
            long valid = 0;
            for (var k = 0; k < grid.Count; k++)
            {
                cancel.ThrowIfCancellationRequested();
                var (n, output) = tile(k);
                sink.WriteTile(grid[k].Window.RelativeTo(plan.Area), output);
                valid += n;
            }
            if (valid == 0) throw ScenePlanner.NoValidPixel(o, o.Scene.Roi is not null);
            sink.Commit();
        }
        finally
        {
            sink.Dispose();
        }
        WriteSideOutputs(plan, plan.Models(), outputs);
        cancel.ThrowIfCancellationRequested();
        outputs.Commit();
    }

    /// <summary>Every file a MESMA run writes (the raster's, the model table, the style), reserved against the inputs before any work.</summary>
    private static OutputSet Reserve(MesmaOptions mo, RasterSource source, bool overwrite)
    {
        var output = Path.GetFullPath(mo.Scene.Outputs.Output);
        return OutputSet.Begin(RasterSink.FinalFiles(output, mo.Scene.Outputs.Format).Append(ModelTablePath(output)).Append(StylePath(output)),
            InputFiles(source, mo), overwrite, [output + ".aux.xml"]);
    }

    private static void WriteSideOutputs(MesmaPlan plan, MesmaModels models, OutputSet outputs)
    {
        var output = plan.Options.Scene.Outputs.Output;
        EndmemberFiles.WriteAtomically(outputs.Temp(ModelTablePath(output)), Encoding.UTF8.GetBytes(models.TableCsv()));
        StyleFile.Write(outputs.Temp(StylePath(output)), plan.ClassNames, plan.Options.Scene.Outputs.OutputNoData, ColoursJson(plan.ClassNames, plan.Colours));
    }

    /// <summary>
    /// Everything a MESMA tile needs, from the scene as opened: the library read, its classes, the scene's bands
    /// screened and matched to the library's (resampled with each band's response), the models enumerated (every
    /// refusal of a bad library happens here), the tile size from the memory budget, and the output's band names and
    /// metadata.
    /// </summary>
    private static (MesmaPlan Plan, MesmaModels Models) Prepare(MesmaOptions mo, RasterSource source, int[] bands, RegionOfInterest? roi, Window area,
        Action<string>? log, CancellationToken cancel)
    {
        var o = SceneOptions(mo);
        var info = source.Info;
        var lib = SpectralLibraries.Read(mo.Library, mo.Units);
        log?.Invoke($"library: {lib.Count} spectra, {lib.Bands} bands, {lib.Units}");
        var (classField, classOf, classNames, keep) = Classes(lib, mo);
        var (screen, sample) = ScenePlanner.Screen(o, source, bands, roi, area);
        cancel.ThrowIfCancellationRequested();
        bands = screen.Bands;
        var sceneNm = SceneNanometres(info, bands, mo.Scene.Scene.Input);
        var sceneFwhm = info.Fwhm is null ? null : bands.Select(b => info.Fwhm[b] * (IsMicrometres(info) ? 1000 : 1)).ToArray();
        var (resampled, report) = SpectralResampler.Resample(lib, sceneNm, sceneFwhm);
        if (report.Covered.Length == 0)
            throw new EndmemberFileException(mo.Library, string.Create(CultureInfo.InvariantCulture,
                $"covers {lib.Wavelengths![0]:F0}-{lib.Wavelengths[^1]:F0} nm and none of the scene's {bands.Length} bands ({sceneNm.Min():F0}-{sceneNm.Max():F0} nm): its bands cannot be matched to the scene's"));
        if (report.Uncovered > 0 && !mo.DropUncoveredBands)
        {
            var missing = Enumerable.Range(0, bands.Length).Except(report.Covered).ToArray();
            throw new EndmemberFileException(mo.Library, string.Create(CultureInfo.InvariantCulture,
                $"covers {lib.Wavelengths![0]:F0}-{lib.Wavelengths[^1]:F0} nm with gaps; {missing.Length} of the scene's {bands.Length} bands used ({string.Join(", ", missing.Take(5).Select(i => $"{sceneNm[i]:F1}"))}{(missing.Length > 5 ? ", ..." : "")} nm) have no library samples near them: pass {OptionPath.DropUncoveredBands} to leave them out, or {OptionPath.Bands}"));
        }
        bands = report.Covered.Select(i => bands[i]).ToArray();
        log?.Invoke($"resampling: {report}");
        CheckSceneUnits(sample(), report.Covered, mo);

        var spectra = keep.Select(i => resampled[i]).ToArray();
        var spectrumClass = keep.Select(i => classOf[i]).ToArray();
        var spectrumNames = keep.Select(i => lib.Names[i]).ToArray();
        var models = new MesmaModels(spectra, spectrumClass, classNames, spectrumNames, mo.Settings);
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"models: {models.Count:N0} (levels {string.Join(",", models.Levels)}; {models.Singular} left out as linearly dependent) over {classNames.Length} classes of '{classField}'"));
        // The Monte Carlo runs' models are enumerated where tiles are solved (MesmaTiles); here only their number counts.
        var monteCarlo = mo.Settings.MonteCarloRuns;

        var colours = ClassColours(lib, classField, classNames);
        var bandNames = classNames.Concat(["shade", "rmse", "model"]).Concat(mo.Settings.ShadeNormalised ? classNames.Select(c => c + "_normalised") : [])
            .Concat(mo.Settings.UncertaintyRmse is null ? [] : classNames.Select(c => c + "_sd").Append("near_models"))
            .Concat(monteCarlo == 0 ? [] : classNames.Select(c => c + "_mc_sd").Append("mc_runs")).ToArray();
        var (tile, workers) = ScenePlanner.PlanMemory(o, bands.Length, bandNames.Length);
        var metadata = new Dictionary<string, string>
        {
            ["HYPERUNMIX_VERSION"] = UnmixJob.Version,
            ["HYPERUNMIX_METHOD"] = "MESMA",
            ["HYPERUNMIX_INPUT"] = Path.GetFullPath(info.Path),
            ["HYPERUNMIX_LIBRARY"] = Path.GetFullPath(mo.Library),
            ["HYPERUNMIX_CLASS_FIELD"] = classField,
            ["HYPERUNMIX_CLASS_COLOURS"] = ColoursJson(classNames, colours),
            ["HYPERUNMIX_MESMA"] = Parameters(mo.Settings, models),
            ["HYPERUNMIX_RESAMPLING"] = report.ToString(),
            ["HYPERUNMIX_UNCERTAINTY"] = mo.Settings.UncertaintyRmse is { } u
                ? string.Create(CultureInfo.InvariantCulture, $"CLASS_sd: standard deviation of the class fraction over the valid models of the chosen level within {u} RMSE of the best; near_models: their count")
                : "none",
            ["HYPERUNMIX_MONTE_CARLO"] = monteCarlo > 0
                ? string.Create(CultureInfo.InvariantCulture, $"runs={monteCarlo} fraction={mo.Settings.MonteCarloFraction} seed={mo.Settings.MonteCarloSeed}; CLASS_mc_sd: standard deviation of the class fraction over the runs that modelled the pixel (each with a random subset of each class's spectra); mc_runs: their count")
                : "none",
        };
        var plan = new MesmaPlan
        {
            Options = mo,
            Bands = bands,
            Area = area,
            TileSize = tile,
            Workers = workers,
            Spectra = spectra,
            SpectrumClass = spectrumClass,
            SpectrumNames = spectrumNames,
            ClassNames = classNames,
            ClassField = classField,
            Colours = colours,
            LibraryUnits = lib.Units,
            Resampling = report,
            BandNames = bandNames,
            Metadata = metadata,
        };
        return (plan, models);
    }

    /// <summary>
    /// Each class's colour: the library's own (EnMAP-Box's class file) when it gives one for every class of the field,
    /// else a fixed qualitative palette in class order (Tableau 10), so that a class keeps its colour from run to run.
    /// </summary>
    public static string[] ClassColours(SpectralLibrary lib, string field, string[] classNames)
    {
        if (lib.ClassColours.FirstOrDefault(kv => kv.Key.Equals(field, StringComparison.OrdinalIgnoreCase)).Value is { } map && classNames.All(map.ContainsKey))
            return classNames.Select(c => map[c] is var (r, g, b) ? $"#{r:x2}{g:x2}{b:x2}" : "").ToArray();
        string[] palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
        return classNames.Select((_, i) => palette[i % palette.Length]).ToArray();
    }

    /// <summary>{"class": "#rrggbb", ...} in class order: the raster's HYPERUNMIX_CLASS_COLOURS, read by the QGIS plugin.</summary>
    internal static string ColoursJson(string[] classNames, string[] colours) =>
        System.Text.Json.JsonSerializer.Serialize(classNames.Zip(colours).ToDictionary(t => t.First, t => t.Second));

    private static string Parameters(MesmaSettings s, MesmaModels m)
    {
        var rule = s.FTestAlpha is { } a ? string.Create(CultureInfo.InvariantCulture, $"level_rule=ftest alpha={a}")
            : string.Create(CultureInfo.InvariantCulture, $"level_rule=gain min_rmse_gain={s.MinRmseGain}");
        return string.Create(CultureInfo.InvariantCulture,
            $"levels={string.Join(",", m.Levels)} models={m.Count} fractions={s.MinFraction}..{s.MaxFraction} shade={s.MinShade}..{s.MaxShade} max_rmse={s.MaxRmse} {rule}");
    }

    /// <summary>The class field, each spectrum's class index, the class names (in order of first appearance), and the spectra kept.</summary>
    public static (string Field, int[] ClassOf, string[] Names, int[] Keep) Classes(SpectralLibrary lib, MesmaOptions mo)
    {
        string[] labels;
        string field;
        if (mo.ClassField is { } f)
        {
            var key = lib.Classes.Keys.FirstOrDefault(k => k.Equals(f, StringComparison.OrdinalIgnoreCase))
                ?? throw new EndmemberFileException(mo.Library, lib.Classes.Count == 0
                    ? $"has no class field '{f}' (it has no class columns; for an .sli, EnMAP-Box keeps them in {Path.ChangeExtension(mo.Library, ".csv")})"
                    : $"has no class field '{f}' (it has: {string.Join(", ", lib.Classes.Keys)})");
            (field, labels) = (key, lib.Classes[key]);
        }
        else if (lib.Classes.Count > 0) (field, labels) = lib.Classes.First() is var kv ? (kv.Key, kv.Value) : default;
        else (field, labels) = ("spectrum", lib.Names);
        var names = labels.Distinct().ToList();
        if (mo.Classes.Count > 0)
        {
            foreach (var c in mo.Classes)
                if (!names.Contains(c)) throw new MesmaException($"class '{c}' has no spectra in field '{field}' of {mo.Library} (its classes: {string.Join(", ", names)})");
            names = names.Where(mo.Classes.Contains).ToList();
        }
        var classOf = labels.Select(l => names.IndexOf(l)).ToArray();
        var keep = Enumerable.Range(0, lib.Count).Where(i => classOf[i] >= 0).ToArray();
        return (field, classOf, names.ToArray(), keep);
    }

    private static bool IsMicrometres(RasterInfo info) => info.WavelengthUnits?.Trim().ToLowerInvariant() is "micrometers" or "micrometres" or "um" or "µm" or "microns";

    /// <summary>The used bands' wavelengths in nanometres (from the scene's unit, or detected from the values and stated here).</summary>
    private static double[] SceneNanometres(RasterInfo info, int[] bands, string input)
    {
        if (info.Wavelengths is null) throw new RasterDataException(input, "has no band wavelengths: a spectral library cannot be matched to its bands");
        var wl = bands.Select(b => info.Wavelengths[b]).ToArray();
        var unit = info.WavelengthUnits?.Trim().ToLowerInvariant();
        var micro = IsMicrometres(info) || (unit is null or "" or "unknown" && wl.Max() < 30);
        return micro ? wl.Select(v => v * 1000).ToArray() : wl;
    }

    /// <summary>
    /// Refuses a scene whose values are not reflectance 0-1 like the library's after the file's band scale and
    /// --scale: the 99th percentile of the sample above 1.5 (reflectance x 100 or x 10000 without a scale).
    /// </summary>
    private static void CheckSceneUnits(PixelSample sample, int[] covered, MesmaOptions mo)
    {
        if (sample.Count == 0) return;
        var values = sample.Y.Where(double.IsFinite).ToArray();
        if (values.Length == 0) return;
        Array.Sort(values);
        var p99 = values[(int)(0.99 * (values.Length - 1))];
        if (p99 > 1.5)
            throw new RasterDataException(mo.Scene.Scene.Input, string.Create(CultureInfo.InvariantCulture,
                $"values reach {p99:G4} (99th percentile) after the band scale and {OptionPath.InputScale} {mo.Scene.Scene.InputScale:G}: not reflectance 0-1 like the library ({mo.Library}); give {OptionPath.InputScale} (0.0001 for reflectance x 10000, 0.01 for percent)"));
    }

    private static IEnumerable<string> InputFiles(RasterSource source, MesmaOptions mo) =>
        source.Files.Append(mo.Scene.Scene.Input).Concat(SceneWriter.WithSidecars([mo.Library, mo.Scene.Scene.Roi]));
}
