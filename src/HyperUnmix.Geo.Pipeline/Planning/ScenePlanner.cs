using System.Globalization;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>What planning produced: the plan, and what stays in memory for a local run.</summary>
/// <param name="Fit">The deep fit made while planning (its model is the one applied), or null.</param>
internal sealed record Prepared(UnmixPlan Plan, PlanArtifacts Artifacts, MtlFit? Fit);

/// <summary>
/// The once-per-scene part of a run: the options checked, the scene opened, endmembers (from a model, a file, or the
/// endmember stage on a stratified sample), the method's own planning (the deep fit), and the tile grid.
/// Deterministic for a given input, options and CPU kernel.
/// </summary>
internal static class ScenePlanner
{
    /// <summary>The output's last band: each pixel's reconstruction error.</summary>
    public const string ResidualBand = "residual_rmse";

    public static void Validate(UnmixOptions o)
    {
        // Empty paths reached Path.GetFullPath, whose message is "(Parameter 'path')".
        if (string.IsNullOrWhiteSpace(o.Scene.Input)) throw new UsageException(OptionPath.Input, "the input scene path is empty");
        if (string.IsNullOrWhiteSpace(o.Outputs.Output)) throw new UsageException(OptionPath.Output, "the output path is empty");
        var method = UnmixMethods.Get(o.Method.Name);
        EndmemberExtractors.Get(o.Endmembers.Extractor);
        if (o.Execution.TileSize < 16) throw new UsageException(OptionPath.TileSize, $"{OptionPath.TileSize} must be at least 16 pixels, got {o.Execution.TileSize}");
        if (o.Execution.Threads < 1) throw new UsageException(OptionPath.Threads, $"{OptionPath.Threads} must be at least 1, got {o.Execution.Threads}");
        if (o.Execution.MemoryBytes < ExecutionOptions.MinMemoryBytes) throw new UsageException(OptionPath.MemoryBytes, $"{OptionPath.MemoryBytes} must be at least {ExecutionOptions.MinMemoryBytes >> 20} MB, got {o.Execution.MemoryBytes >> 20} MB");
        if (o.Endmembers.EndmemberCount is < 1) throw new UsageException(OptionPath.EndmemberCount, $"{OptionPath.EndmemberCount} must be at least 1, got {o.Endmembers.EndmemberCount}");
        if (o.Endmembers.EndmembersFile is not null && o.Endmembers.EndmemberCount is not null) throw new UsageException(OptionPath.EndmembersFile, $"give either {OptionPath.EndmembersFile} or {OptionPath.EndmemberCount}, not both");
        if (o.Method.ModelFile is not null && (o.Endmembers.EndmembersFile is not null || o.Endmembers.EndmemberCount is not null))
            throw new UsageException(OptionPath.ModelFile, $"{OptionPath.ModelFile} brings its own endmembers: do not combine it with {OptionPath.EndmembersFile} or {OptionPath.EndmemberCount}");
        if (o.Method.ModelFile is not null && !method.FitsModel) throw new UsageException(OptionPath.ModelFile, $"{OptionPath.ModelFile} applies a deep model: use it with {OptionPath.Method} {UnmixMethod.Mtl}");
        if (o.Method.FitPixels < 100) throw new UsageException(OptionPath.FitPixels, $"{OptionPath.FitPixels} must be at least 100, got {o.Method.FitPixels}");
        if (o.Endmembers.SampleSize < 100) throw new UsageException(OptionPath.SampleSize, $"{OptionPath.SampleSize} must be at least 100 pixels, got {o.Endmembers.SampleSize}");
        if (!double.IsFinite(o.Scene.InputScale) || o.Scene.InputScale <= 0) throw new UsageException(OptionPath.InputScale, $"{OptionPath.InputScale} must be a positive number, got {o.Scene.InputScale}");
    }

    /// <summary>Opens the run's input with its nodata, NaN and reader options.</summary>
    public static RasterSource OpenInput(UnmixOptions o)
    {
        var source = RasterSource.Open(o.Scene.Input, new RasterOpenOptions
        {
            AllowRawPath = !o.Scene.ForceGdalReader,
            NoData = o.Scene.InputNoData,
            Nan = o.Scene.NanAsNoData ? NanPolicy.Mask : NanPolicy.Error,
            Masks = o.Scene.Masks,
        });
        try { CheckScale(o, source.Info); }
        catch
        {
            source.Dispose();
            throw;
        }
        return source;
    }

    /// <summary>The input opened with the run's options, its bands, ROI and the area unmixed.</summary>
    public static (RasterSource Source, int[] Bands, RegionOfInterest? Roi, Window Area) OpenScene(UnmixOptions o, CancellationToken cancel)
    {
        var source = OpenInput(o);
        try
        {
            var bands = SelectBands(o, source.Info);
            var roi = o.Scene.Roi is null ? null : RegionOfInterest.Load(o.Scene.Roi, source.Info, o.Scene.RoiSelection, cancel);
            return (source, bands, roi, roi?.Window ?? source.Extent);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A file that declares its own band scale or offset (GDAL's scale/offset metadata, e.g. EnMAP's 0.0001) is read
    /// in those units already; <c>--scale</c> on top would apply a second factor (a uint16 scene with scale 1e-4 run
    /// with <c>--scale 0.0001</c> gave abundances off by up to 0.93, silently), so the two are not combined.
    /// </summary>
    public static void CheckScale(UnmixOptions o, RasterInfo info)
    {
        if (o.Scene.InputScale != 1 && DeclaresScale(info))
            throw new UsageException(OptionPath.InputScale, string.Create(CultureInfo.InvariantCulture,
                $"{OptionPath.InputScale} {o.Scene.InputScale}: {info.Path} declares its own band scale ({FileScale(info)}), which every read applies already; {OptionPath.InputScale} would apply a second factor. Leave {OptionPath.InputScale} out"));
    }

    private static bool DeclaresScale(RasterInfo info) => info.Scale.Any(s => s != 1) || info.Offset.Any(v => v != 0);

    private static string FileScale(RasterInfo info)
    {
        var scales = info.Scale.Distinct().ToArray();
        var offsets = info.Offset.Distinct().ToArray();
        var scale = scales.Length == 1 ? $"x {scales[0].ToString("G6", CultureInfo.InvariantCulture)}" : $"x {scales.Min().ToString("G6", CultureInfo.InvariantCulture)}..{scales.Max().ToString("G6", CultureInfo.InvariantCulture)} by band";
        var offset = offsets.Length == 1 ? (offsets[0] == 0 ? "" : $" + {offsets[0].ToString("G6", CultureInfo.InvariantCulture)}") : " + an offset by band";
        return scale + offset;
    }

    /// <summary>The units the run's values are in, for the summary and the report: the file's scale, --scale, or as stored.</summary>
    public static string DescribeValues(UnmixOptions o, RasterInfo info) =>
        DeclaresScale(info) ? $"stored values {FileScale(info)} (the file's band scale)"
        : o.Scene.InputScale != 1 ? string.Create(CultureInfo.InvariantCulture, $"stored values x {o.Scene.InputScale} (--scale)")
        : "as stored (no scale)";

    /// <summary>The 0-based bands a run uses: --bands (all by default), minus the bad bands with --drop-bad-bands.</summary>
    public static int[] SelectBands(UnmixOptions o, RasterInfo info)
    {
        var bands = (o.Scene.Bands ?? Enumerable.Range(0, info.BandCount).ToArray()).ToList();
        foreach (var b in bands)
            if (b < 0 || b >= info.BandCount) throw new UsageException($"band {b + 1} does not exist: {info.Path} has {info.BandCount} bands");
        if (o.Scene.DropBadBands) bands.RemoveAll(info.BadBands.Contains);
        if (bands.Count == 0) throw new UsageException("no bands left to unmix");
        if (bands.Distinct().Count() != bands.Count) throw new UsageException("a band is selected twice");
        return bands.ToArray();
    }

    public static RasterDataException NoValidPixel(UnmixOptions o, bool roi) =>
        new(o.Scene.Input, roi ? "has no valid pixel inside the region of interest" : "has no valid pixel (all nodata)");

    /// <summary>
    /// The run's sample, read once with every selected band, and the screening decided on it; the sample of the kept
    /// bands (valid in all of them, fill pixels left out, scaled) is built on first use.
    /// </summary>
    public static (ScreenResult Screen, Func<PixelSample> Sample) Screen(UnmixOptions o, RasterSource source, int[] bands, RegionOfInterest? roi, Window area)
    {
        // A run that needs no sample otherwise (given endmembers and a linear solver, or a given model) screens on a
        // few spread windows (Sampling.ReadSpread): its random pixels would cost more than the run itself on a
        // band-separated file (3.7 s against a 1.2 s FCLS run, 600 x 600 x 224 band-interleaved GeoTIFF).
        var method = UnmixMethods.Get(o.Method.Name);
        var needsSample = o.Method.ModelFile is null && (o.Endmembers.EndmembersFile is null || (method.FitsModel && !o.Execution.IoOnly));
        var raw = needsSample || area.Area <= o.Endmembers.SampleSize
            ? Sampling.ReadRaw(source, area, roi, bands, o.Endmembers.SampleSize, o.Seed)
            : Sampling.ReadSpread(source, area, roi, bands);
        if (raw.Count == 0) throw NoValidPixel(o, roi is not null);
        var screen = BandScreen.Run(raw, source.Info, o.Scene.DropAbsorptionBands, o.Scene.InputScale, dropFlagged: o.Scene.Bands is null) with { Values = DescribeValues(o, source.Info) };
        // Reflectance and radiance are never negative everywhere; such a scene has a wrong scale, offset or byte order,
        // and would otherwise fail later in terms of its endmembers ("EM1 is all zero").
        if (screen.Keep.Length > 0 && screen.Keep.All(q => raw.Stats(q).Max <= 0))
            throw new RasterDataException(o.Scene.Input, $"has no positive value in any band of the {raw.Count} sampled valid pixels ({screen.Values}): the values cannot be reflectance or radiance; check the file's scale, offset and byte order");
        PixelSample? sample = null;
        return (screen, () => sample ??= raw.Pixels(screen.Keep, o.Scene.InputScale, dropZeroPixels: true, dropNonPhysical: screen.Reflectance));
    }

    public static Prepared Prepare(UnmixOptions o, RasterSource source, int[] bands, RegionOfInterest? roi, Window area,
        ProgressHandler? progress, StageClock clock, CancellationToken cancel)
    {
        var info = source.Info;
        // Screening first, on the sample: which bands carry information, which pixels are fill values (BandScreen).
        progress?.Invoke("sample", 0.01);
        var (screen, Sample) = Screen(o, source, bands, roi, area);
        cancel.ThrowIfCancellationRequested();
        var requested = bands.Length;
        bands = screen.Bands;
        var sceneWavelengths = info.Wavelengths is null ? null : bands.Select(b => info.Wavelengths[b]).ToArray();
        MtlModel? model = null;
        EndmemberSet endmembers;
        string endmemberSource;
        EndmemberStageResult? stage = null;
        if (o.Method.ModelFile is not null)
        {
            model = MtlModel.Load(o.Method.ModelFile);
            model.CheckScene(o.Scene.Input, bands.Length, sceneWavelengths);
            endmembers = model.Endmembers;
            endmemberSource = $"deep model {Path.GetFullPath(o.Method.ModelFile)}";
        }
        else if (o.Endmembers.EndmembersFile is not null)
        {
            var loaded = EndmemberFiles.Load(o.Endmembers.EndmembersFile, o.Endmembers.EndmemberNames);
            // Spectra given for every band of the scene follow the run's band selection (--bands, --drop-bad-bands,
            // the screening); so do spectra whose wavelengths include every band used.
            // A file with one row per band of the scene is in the scene's band order, so a reordered selection
            // (--bands 3,1,2,4-16) reorders its rows too.
            if (loaded.Bands == info.BandCount && !bands.SequenceEqual(Enumerable.Range(0, info.BandCount))) loaded = loaded.SelectBands(bands);
            else if (loaded.Bands > bands.Length && loaded.Wavelengths is { } lw && sceneWavelengths is not null)
            {
                var at = sceneWavelengths.Select(w => Array.FindIndex(lw, v => Math.Abs(v - w) <= 1e-3 * Math.Max(1, Math.Abs(w)))).ToArray();
                if (at.All(i => i >= 0)) loaded = loaded.SelectBands(at);
            }
            endmembers = EndmemberFiles.MatchScene(loaded, o.Endmembers.EndmembersFile, bands.Length, sceneWavelengths, o.Endmembers.Resample);
            endmemberSource = Path.GetFullPath(o.Endmembers.EndmembersFile);
            // The output's last band is residual_rmse; a spectrum of that name made two bands of it, which the
            // evaluation (and any reader by band name) cannot tell apart.
            if (endmembers.Names.FirstOrDefault(n => n.Equals(ResidualBand, StringComparison.OrdinalIgnoreCase)) is { } clash)
                throw new EndmemberFileException(o.Endmembers.EndmembersFile, $"has a spectrum named '{clash}', the name of the output's residual band; rename it");
        }
        else
        {
            var sample = Sample();
            cancel.ThrowIfCancellationRequested();
            if (sample.Count == 0) throw NoValidPixel(o, roi is not null);
            progress?.Invoke("endmembers", 0.03);
            stage = EndmemberStage.Run(sample, EndmemberRequest.From(o, sceneWavelengths), cancel);
            (endmembers, endmemberSource) = (stage.Endmembers, stage.Source);
        }
        clock.Lap("endmembers");

        // Brightness: shading or composition? Decided on the sample when the method's default is the scaled model and
        // the user did not choose (BrightnessTest); the choice travels in the plan's options to every tile.
        BrightnessDecision? brightness = null;
        if (o.Method.Normalize is null && model is null && !o.Execution.IoOnly && UnmixMethods.Get(o.Method.Name).DefaultScale == PixelScale.Scale)
        {
            brightness = BrightnessTest.Decide(Sample(), endmembers);
            o = o with { Method = o.Method with { Normalize = brightness.Scale } };
            // Brightness is composition: each refined endmember at its extracted pixel's brightness, the material's
            // where nothing is shaded (EndmemberStageResult.AtPixelBrightness).
            if (brightness.Scale == PixelScale.None && stage?.AtPixelBrightness is { } atPixels)
            {
                endmembers = atPixels;
                endmemberSource += "; at the extracted pixels' brightness (the plain model: brightness is composition)";
            }
            clock.Lap("brightness");
        }

        // The I/O floor never fits a model: it measures reading and writing alone.
        var method = o.Execution.IoOnly ? new MethodPlan(endmembers, PlanArtifacts.None, null)
            : UnmixMethods.Get(o.Method.Name).Plan(new MethodPlanning(o, endmembers, model, Sample, progress, clock.Lap, cancel));
        endmembers = method.Endmembers;
        var fit = method.Fit;
        var snr = stage?.SnrDb;
        var plan = new UnmixPlan
        {
            Options = o,
            Bands = bands,
            Area = area,
            TileSize = PlanMemory(o, bands.Length, endmembers.Count).Tile,
            Endmembers = PlanEndmembers.From(endmembers),
            EndmemberSource = endmemberSource,
            ModelFile = o.Method.ModelFile is null ? null : Path.GetFullPath(o.Method.ModelFile),
            ModelSha256 = o.Method.ModelFile is null ? null : UnmixPlan.Sha256(o.Method.ModelFile),
            EstimatedCount = stage?.Estimate?.Count,
            VcaSnrDb = snr is { } s && double.IsFinite(s) ? s : null,
            StageSeconds = clock.Stages,
            Screen = screen,
            Brightness = brightness,
            RequestedBands = requested,
            Fit = fit is null ? null : new FitSummary(fit.Pixels, fit.LossHistory.ToArray(), fit.Epochs, fit.Seconds, fit.Gflops, fit.ValidationHistory.ToArray(), fit.Test),
            OutputBands = endmembers.Names.Append(ResidualBand).ToArray(),
            Metadata = RunMetadata(o, info, endmembers, endmemberSource),
        };
        return new Prepared(plan, method.Artifacts, fit);
    }

    /// <summary>Tile side and worker count such that the tiles in flight fit the memory budget.</summary>
    public static (int Tile, int Workers) PlanMemory(UnmixOptions o, int bands, int p)
    {
        // Per pixel: input tile and output bands (float), mask; per worker: the solver's chunk of spectra (float).
        long perPixel = 4L * (bands + p + 1) + 1;
        var fixedPerWorker = 4L * bands * TileScratch.ChunkPixels;
        var workers = o.Execution.Threads;
        var tile = o.Execution.TileSize;
        while (workers * (perPixel * tile * tile + fixedPerWorker) > o.Execution.MemoryBytes / 2 && tile > 16) tile = Math.Max(16, tile / 2);
        while (workers > 1 && workers * (perPixel * tile * tile + fixedPerWorker) > o.Execution.MemoryBytes / 2) workers--;
        return (tile, workers);
    }

    private static Dictionary<string, string> RunMetadata(UnmixOptions o, RasterInfo info, EndmemberSet e, string source) => new()
    {
        ["HYPERUNMIX_VERSION"] = UnmixJob.Version,
        ["HYPERUNMIX_METHOD"] = o.Method.Name.ToUpperInvariant(),
        ["HYPERUNMIX_MTL"] = UnmixMethods.Get(o.Method.Name).Parameters(o) ?? "n/a",
        ["HYPERUNMIX_INPUT"] = Path.GetFullPath(info.Path),
        ["HYPERUNMIX_ENDMEMBERS"] = string.Join(",", e.Names),
        ["HYPERUNMIX_ENDMEMBER_SOURCE"] = source,
        ["HYPERUNMIX_P"] = e.Count.ToString(CultureInfo.InvariantCulture),
        ["HYPERUNMIX_SEED"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["HYPERUNMIX_PARAMETERS"] = $"bands={e.Bands} scale={o.Scene.InputScale.ToString(CultureInfo.InvariantCulture)} roi={(o.Scene.Roi is null ? "none" : Path.GetFileName(o.Scene.Roi))} normalize={PixelScales.Name(o.Method.EffectiveNormalize)} fractions={(o.Method.SignalFractions ? "signal" : "physical")}",
        ["HYPERUNMIX_GDAL"] = GdalLibrary.Version,
    };
}
