using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>What a finished run produced and measured.</summary>
public sealed record UnmixResult
{
    public required string Output { get; init; }
    public required IReadOnlyList<string> SideOutputs { get; init; }
    public required EndmemberSet Endmembers { get; init; }
    public required string EndmemberSource { get; init; }
    public required Window Area { get; init; }
    public required long ValidPixels { get; init; }
    public required long TotalPixels { get; init; }
    public required int Tiles { get; init; }
    public required int TileSize { get; init; }
    public required int Workers { get; init; }
    public required string ReadPath { get; init; }
    public required IReadOnlyDictionary<string, double> StageSeconds { get; init; }
    public HySimeResult? Estimate { get; init; }
    public double? VcaSnrDb { get; init; }
    /// <summary>The deep model's fit, when one was made in this run.</summary>
    public MtlFit? Fit { get; init; }
    /// <summary>Where the deep model came from or was saved.</summary>
    public string? ModelFile { get; init; }
}

/// <summary>
/// The scene pipeline: reader → endmembers (given, or HySime + VCA on a stratified sample) → tiles unmixed in
/// parallel with one shared, prepared endmember set → writer. Memory is bounded by the tiles in flight (one per
/// worker, sized to the budget); the output appears only when complete.
/// </summary>
public static partial class UnmixJob
{
    public static string Version => typeof(UnmixJob).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public static UnmixResult Run(UnmixOptions o, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        Validate(o);
        var clock = new StageClock();
        progress?.Invoke("open", 0);

        var (opened, bands, roi, area) = OpenScene(o, cancel);
        using var source = opened;
        var info = source.Info;
        var outputs = OutputNames(o);
        // Everything this run will write, checked and reserved before any work: none of it is an input, nothing is
        // replaced without --overwrite, and the whole set appears at the end or not at all.
        using var outputSet = ReserveOutputs(o, source, o.Overwrite);
        clock.Lap("open");

        var prepared = Prepare(o, source, bands, roi, area, progress, clock, cancel);
        var plan = prepared.Plan;
        var workers = PlanMemory(o, bands.Length, plan.Endmembers.Count).Workers;
        using var processor = new TileProcessor(plan, source, roi, prepared.Unmixer, ownsSource: false);
        var grid = processor.Grid;

        long valid = 0;
        var done = 0;
        var preview = new Preview(area.Width, area.Height, plan.Endmembers.Count);
        using (var sink = RasterSink.Create(outputSet, o.Output, Profile(plan, info), o.Format))
        {
            var openBlas = Blas.Default is OpenBlas;
            if (openBlas && workers > 1) OpenBlas.SetThreads(1);
            try
            {
                // Parallel.For may start more tasks than workers over the run, each with its own local state: the
                // workspaces (a tile of input each) are pooled so that no more than one per worker is ever allocated.
                var pool = new ConcurrentBag<TileProcessor.Workspace>();
                Parallel.For(0, grid.Count, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel },
                    () => pool.TryTake(out var ws) ? ws : processor.CreateWorkspace(),
                    (index, _, ws) =>
                    {
                        var n = processor.Process(index, ws);
                        sink.WriteTile(ws.Window.RelativeTo(area), ws.Output);
                        preview.Add(ws.Window.RelativeTo(area), ws.Output, o.OutputNoData);
                        Interlocked.Add(ref valid, n);
                        var k = Interlocked.Increment(ref done);
                        var start = prepared.Fit is null ? 0.05 : 0.55;
                        progress?.Invoke("unmix", start + (0.95 - start) * k / grid.Count);
                        return ws;
                    },
                    pool.Add);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                throw e.InnerExceptions[0];
            }
            finally
            {
                if (openBlas && workers > 1) OpenBlas.SetThreads(Environment.ProcessorCount);
            }
            if (valid == 0) throw NoValidPixel(o, roi is not null);
            cancel.ThrowIfCancellationRequested();
            progress?.Invoke("write", 0.96);
            sink.Commit();
        }
        clock.Lap("unmix");

        var result = Result(plan, info, valid, source.ReadPath, workers, prepared.Fit, outputs, o.SideOutputs);
        if (o.SideOutputs) WriteSideOutputs(outputSet, plan, info, result, prepared.Fit, preview, outputs, clock);
        cancel.ThrowIfCancellationRequested();
        outputSet.Commit();
        progress?.Invoke("done", 1);
        return result;
    }

    /// <summary>
    /// Plans one scene for tiles processed elsewhere (the cluster runner): endmembers extracted or read and the deep
    /// model fitted once, the model and an exhaustive fit's abundances written into <paramref name="stateDir"/> (which must exist) and
    /// named in the plan with their SHA-256. The same computation as <see cref="Run"/>'s, so tiles computed from the
    /// plan are those of a single-machine run.
    /// </summary>
    public static UnmixPlan PlanScene(UnmixOptions o, string stateDir, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        Validate(o);
        var clock = new StageClock();
        var (opened, bands, roi, area) = OpenScene(o, cancel);
        using var source = opened;
        clock.Lap("open");
        var prepared = Prepare(o, source, bands, roi, area, progress, clock, cancel);
        var plan = prepared.Plan;
        // The folder is not created here: the caller owns it (a cluster's late duplicate must not create one).
        if (!Directory.Exists(stateDir)) throw new DirectoryNotFoundException($"{stateDir}: the plan's folder does not exist");
        if (prepared.Fit?.Model is { } model)
        {
            var file = Path.Combine(Path.GetFullPath(stateDir), "model.json");
            EndmemberFiles.WriteAtomically(file, model.ToBytes());
            plan = plan with { ModelFile = file, ModelSha256 = UnmixPlan.Sha256(file) };
        }
        if (prepared.Fitted is { } fitted)
        {
            var file = Path.Combine(Path.GetFullPath(stateDir), "fitted.bin");
            FittedAbundances.Write(file, plan.Endmembers.Count, fitted.Positions, fitted.Abundances);
            plan = plan with { FittedFile = file, FittedSha256 = UnmixPlan.Sha256(file) };
        }
        return plan;
    }

    /// <summary>
    /// Writes a planned scene's outputs from its tiles' outputs, in tile order, with the same writer, profile and
    /// side outputs as <see cref="Run"/>: the raster's bytes are those of a single-machine run. <paramref name="tile"/>
    /// gives tile k's valid-pixel count and band-sequential output. The job owns its outputs, so they are replaced.
    /// </summary>
    public static UnmixResult Assemble(UnmixPlan plan, Func<int, (int Valid, float[] Output)> tile, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        var o = plan.Options;
        var clock = new StageClock(plan.StageSeconds);
        using var source = OpenInput(o);
        var info = source.Info;
        var outputs = OutputNames(o);
        using var outputSet = ReserveOutputs(o, source, overwrite: true);
        var grid = plan.Grid;
        var preview = new Preview(plan.Area.Width, plan.Area.Height, plan.Endmembers.Count);
        long valid = 0;
        using (var sink = RasterSink.Create(outputSet, o.Output, Profile(plan, info), o.Format))
        {
            for (var k = 0; k < grid.Count; k++)
            {
                cancel.ThrowIfCancellationRequested();
                var (n, output) = tile(k);
                var w = grid[k].Window.RelativeTo(plan.Area);
                sink.WriteTile(w, output);
                preview.Add(w, output, o.OutputNoData);
                valid += n;
                progress?.Invoke("assemble", (k + 1.0) / grid.Count);
            }
            if (valid == 0) throw NoValidPixel(o, o.Roi is not null);
            sink.Commit();
        }
        clock.Lap("assemble");
        MtlFit? fit = null;
        if (plan.Fit is { } f && plan.ModelFile is not null)
            fit = new MtlFit(MtlModel.Load(plan.ModelFile), [], f.Pixels, f.LossHistory, f.Epochs, f.Seconds, f.Gflops, f.ValidationHistory);
        var result = Result(plan, info, valid, source.ReadPath, 1, fit, outputs, o.SideOutputs);
        if (o.SideOutputs) WriteSideOutputs(outputSet, plan, info, result, fit, preview, outputs, clock);
        cancel.ThrowIfCancellationRequested();
        outputSet.Commit();
        return result;
    }

    /// <summary>Seconds per stage, lap by lap, into one dictionary (a plan's, so that the report has them all).</summary>
    private sealed class StageClock(Dictionary<string, double>? stages = null)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        public Dictionary<string, double> Stages { get; } = stages ?? [];

        public void Lap(string stage)
        {
            Stages[stage] = Math.Round(_clock.Elapsed.TotalSeconds, 3);
            _clock.Restart();
        }
    }

    /// <summary>The input opened with the run's options, its bands, ROI and the area unmixed.</summary>
    private static (RasterSource Source, int[] Bands, RegionOfInterest? Roi, Window Area) OpenScene(UnmixOptions o, CancellationToken cancel)
    {
        var source = OpenInput(o);
        try
        {
            var bands = SelectBands(o, source.Info);
            var roi = o.Roi is null ? null : RegionOfInterest.Load(o.Roi, source.Info, o.RoiSelection, cancel);
            return (source, bands, roi, roi?.Window ?? source.Extent);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>Every file a run of <paramref name="o"/> writes, reserved (checked against the inputs) before any work.</summary>
    private static OutputSet ReserveOutputs(UnmixOptions o, RasterSource source, bool overwrite)
    {
        var outputs = OutputNames(o);
        // The model file is an output when the run fits one.
        var fits = o.Method == UnmixMethod.Mtl && o.ModelFile is null && !o.IoOnly;
        var sideOutputs = o.SideOutputs ? outputs.All.Where(f => fits || f != outputs.Model).ToList() : [];
        var rasterFiles = RasterSink.FinalFiles(Path.GetFullPath(o.Output), o.Format).ToList();
        return OutputSet.Begin(rasterFiles.Concat(sideOutputs), InputFiles(o, source), overwrite,
            outputs.All.Append(Path.GetFullPath(o.Output) + ".aux.xml"));
    }

    /// <summary>The outputs a run of <paramref name="o"/> would write, checked and reserved, then released (a cluster job checks them up front).</summary>
    public static void CheckOutputs(UnmixOptions o)
    {
        using var source = OpenInput(o);
        using var set = ReserveOutputs(o, source, o.Overwrite);
    }

    private static RasterDataException NoValidPixel(UnmixOptions o, bool roi) =>
        new(o.Input, roi ? "has no valid pixel inside the region of interest" : "has no valid pixel (all nodata)");

    private static RasterProfile Profile(UnmixPlan plan, RasterInfo info) =>
        RasterProfile.FromSource(info, plan.Area, plan.OutputBands) with { NoData = plan.Options.OutputNoData, Metadata = plan.Metadata };

    private static UnmixResult Result(UnmixPlan plan, RasterInfo info, long valid, string readPath, int workers, MtlFit? fit, OutputFiles outputs, bool sideOutputs) => new()
    {
        Output = Path.GetFullPath(plan.Options.Output),
        SideOutputs = sideOutputs ? outputs.All : [],
        Endmembers = plan.Endmembers.ToSet(),
        EndmemberSource = plan.EndmemberSource,
        Area = plan.Area,
        ValidPixels = valid,
        TotalPixels = plan.Area.Area,
        Tiles = plan.Grid.Count,
        TileSize = plan.TileSize,
        Workers = workers,
        ReadPath = readPath,
        StageSeconds = plan.StageSeconds,
        Estimate = plan.EstimatedCount is { } c ? new HySimeResult(c, [], []) : null,
        VcaSnrDb = plan.VcaSnrDb,
        Fit = fit,
        ModelFile = fit is not null && sideOutputs ? outputs.Model : plan.Options.ModelFile,
    };

    /// <summary>The endmember files, style, quick-looks, model and report, each under its temporary name in the set.</summary>
    private static void WriteSideOutputs(OutputSet outputSet, UnmixPlan plan, RasterInfo info, UnmixResult result, MtlFit? fit, Preview preview,
        OutputFiles outputs, StageClock clock)
    {
        var o = plan.Options;
        var endmembers = result.Endmembers;
        // Side outputs go to their temporary names too; the report's metrics read the finished raster there.
        void Side(string final, Action<string> write)
        {
            var temp = outputSet.Temp(final);
            try { write(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or RasterOutputException)
            {
                // Name the file the user asked for, not its temporary (disk full, permissions, I/O errors).
                var why = e is RasterOutputException ? e.Message.Replace(temp + ": ", "") : TrailingPath().Replace(e.Message, "");
                throw new RasterOutputException(final, $"cannot write: {why}", e);
            }
        }
        if (fit is not null)
            Side(outputs.Model, t => fit.Model.Save(t, new Dictionary<string, string>
            {
                ["software"] = $"HyperUnmix.Geo {Version}",
                ["input"] = Path.GetFullPath(o.Input),
                ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
                ["fit_pixels"] = fit.Pixels.ToString(CultureInfo.InvariantCulture),
                ["epochs"] = fit.Epochs.ToString(CultureInfo.InvariantCulture),
            }));
        Side(outputs.Csv, t => EndmemberFiles.WriteCsv(t, endmembers));
        Side(outputs.Sli, t => EndmemberFiles.WriteEnviLibrary(t, endmembers));
        Side(outputs.Qml, t => StyleFile.Write(t, endmembers.Names, o.OutputNoData));
        Side(outputs.AbundancePng, t => QuickLook.WriteAbundances(t, preview));
        Side(outputs.SpectraPng, t => QuickLook.WriteSpectra(t, endmembers));
        clock.Lap("side outputs");
        Side(outputs.Report, t => RunReport.Write(t, o, info, result, Blas.Default.Name, outputSet.Temp(result.Output)));
    }

    /// <summary>What planning produced: the plan, and what stays in memory for a local run.</summary>
    /// <param name="Fit">The deep fit made while planning (its model is the one applied), or null.</param>
    private sealed record Prepared(UnmixPlan Plan, ITileUnmixer? Unmixer, MtlFit? Fit, (long[] Positions, float[] Abundances)? Fitted);

    /// <summary>
    /// The once-per-scene part of a run: endmembers (given, from a model, or HySime + extraction on a stratified
    /// sample), the deep model's fit, and the tile grid. Deterministic for a given input, options and CPU kernel.
    /// </summary>
    private static Prepared Prepare(UnmixOptions o, RasterSource source, int[] bands, RegionOfInterest? roi, Window area,
        ProgressHandler? progress, StageClock clock, CancellationToken cancel)
    {
        var info = source.Info;
        var sceneWavelengths = info.Wavelengths is null ? null : bands.Select(b => info.Wavelengths[b]).ToArray();
        EndmemberSet endmembers;
        string endmemberSource;
        HySimeResult? estimate = null;
        double? snr = null;
        MtlModel? model = null;
        PixelSample? sample = null;
        if (o.ModelFile is not null)
        {
            model = MtlModel.Load(o.ModelFile);
            model.CheckScene(o.Input, bands.Length, sceneWavelengths);
            endmembers = model.Endmembers;
            endmemberSource = $"deep model {Path.GetFullPath(o.ModelFile)}";
        }
        else if (o.EndmembersFile is not null)
        {
            var loaded = EndmemberFiles.Load(o.EndmembersFile, o.EndmemberNames);
            // Spectra given for every band of the scene follow the run's band selection (--bands, --drop-bad-bands).
            if (loaded.Bands == info.BandCount && bands.Length != info.BandCount) loaded = loaded.SelectBands(bands);
            endmembers = EndmemberFiles.MatchScene(loaded, o.EndmembersFile, bands.Length, sceneWavelengths, o.Resample);
            endmemberSource = Path.GetFullPath(o.EndmembersFile);
        }
        else
        {
            progress?.Invoke("sample", 0.01);
            sample = Sampling.Read(source, area, roi, bands, o.InputScale, o.SampleSize, o.Seed);
            cancel.ThrowIfCancellationRequested();
            if (sample.Count == 0) throw NoValidPixel(o, roi is not null);
            var p = o.EndmemberCount;
            if (p is null)
            {
                if (sample.Count <= bands.Length)
                    throw new RasterDataException(o.Input, $"only {sample.Count} valid pixels for {bands.Length} bands: too few to estimate the number of endmembers; give -p");
                estimate = HySime.Estimate(sample.Y, sample.Bands, sample.Count);
                p = estimate.Count;
            }
            if (p > bands.Length) throw new UsageException($"P = {p} is larger than the number of bands used ({bands.Length})");
            if (p > sample.Count) throw new RasterDataException(o.Input, $"only {sample.Count} valid pixels, fewer than P = {p}");
            progress?.Invoke("endmembers", 0.03);
            (endmembers, endmemberSource, snr) = Extract(sample, p.Value, o, sceneWavelengths, cancel);
            endmemberSource += $" on {(sample.Exhaustive ? "all" : "a stratified sample of")} {sample.Count} valid pixels" +
                               (estimate is null ? "" : $"; P = {p} from HySime");
        }
        clock.Lap("endmembers");

        MtlFit? fit = null;
        ITileUnmixer? unmixer;
        (long[] Positions, float[] Abundances)? fitted = null;
        if (o.IoOnly)
        {
            // The I/O floor never fits a model: it measures reading and writing alone.
            unmixer = null;
        }
        else if (o.Method != UnmixMethod.Mtl)
        {
            if (o.EffectiveNormalize == PixelScale.Length) endmembers = endmembers.UnitLength();
            unmixer = LinearUnmixer(endmembers, o);
        }
        else
        {
            if (model is null)
            {
                progress?.Invoke("fit", 0.04);
                sample ??= Sampling.Read(source, area, roi, bands, o.InputScale, o.SampleSize, o.Seed);
                if (sample.Count == 0) throw new RasterDataException(o.Input, "has no valid pixel");
                var fitSet = sample.Subset(o.FitPixels);
                if (o.EffectiveNormalize == PixelScale.Length) endmembers = endmembers.UnitLength();
                // With a pixel scale the model is fitted on pixels divided by it (y / s ≈ E a, a on the simplex), and
                // applied the same way; the linear start is then the scaled model's solution.
                var fitY = o.EffectiveNormalize == PixelScale.None ? fitSet.Y : DivideByScale(fitSet, endmembers, o.EffectiveNormalize);
                fit = MtlTrainer.Fit(fitY, fitSet.Bands, fitSet.Count, endmembers, o.Mtl with { Seed = o.Seed },
                    epochCallback: (epoch, _) => progress?.Invoke("fit", 0.04 + 0.5 * epoch / o.Mtl.MaxEpochs), cancel: cancel);
                var scaled = o.EffectiveNormalize == PixelScale.None ? fit.Model : fit.Model.WithPixelScale(o.EffectiveNormalize);
                // The model applied is the model file's: what a run writes to .model.json (or a cluster's workers read)
                // reproduces its tiles exactly.
                model = MtlModel.FromBytes(scaled.ToBytes(), "(fitted model)");
                fit = fit with { Model = model };
                // A fit over every valid pixel of the area is the answer for those pixels; otherwise apply the model.
                if (fitSet.Exhaustive && fitSet.Count == sample.Count) fitted = (fitSet.Positions, fit.Abundances);
                clock.Lap("fit");
            }
            endmembers = model.Endmembers;
            unmixer = new MtlTileUnmixer(model, fitted, info.Width, cancel);
        }
        var tileSize = PlanMemory(o, bands.Length, endmembers.Count).Tile;
        var plan = new UnmixPlan
        {
            Options = o,
            Bands = bands,
            Area = area,
            TileSize = tileSize,
            Endmembers = PlanEndmembers.From(endmembers),
            EndmemberSource = endmemberSource,
            ModelFile = o.ModelFile is null ? null : Path.GetFullPath(o.ModelFile),
            ModelSha256 = o.ModelFile is null ? null : UnmixPlan.Sha256(o.ModelFile),
            EstimatedCount = estimate?.Count,
            VcaSnrDb = snr is { } s && double.IsFinite(s) ? s : null,
            StageSeconds = clock.Stages,
            Fit = fit is null ? null : new FitSummary(fit.Pixels, fit.LossHistory.ToArray(), fit.Epochs, fit.Seconds, fit.Gflops, fit.ValidationHistory.ToArray()),
            OutputBands = endmembers.Names.Append("residual_rmse").ToArray(),
            Metadata = RunMetadata(o, info, endmembers, endmemberSource),
        };
        return new Prepared(plan, unmixer, fit, fitted);
    }

    /// <summary>The classic solvers' tile unmixer (endmembers already unit-length under l2).</summary>
    internal static ITileUnmixer LinearUnmixer(EndmemberSet endmembers, UnmixOptions o) =>
        new LinearTileUnmixer(new AbundanceSolver(endmembers, ToLinear(o.Method), scale: o.EffectiveNormalize));

    /// <summary>
    /// Endmembers from the sample: VCA; then, by default, N-FINDR's volume-maximising swaps from VCA's pixels and the
    /// archetypal refinement (each endmember a convex combination of unit-length pixels; docs/accuracy-linear.md).
    /// </summary>
    private static (EndmemberSet Set, string Source, double Snr) Extract(PixelSample sample, int p, UnmixOptions o, double[]? wavelengths,
        CancellationToken cancel)
    {
        var names = Enumerable.Range(1, p).Select(i => $"EM{i}").ToArray();
        var vca = Vca.Extract(sample.Y, sample.Bands, sample.Count, p, o.Seed);
        var e = vca.Endmembers;
        var pixels = vca.PixelIndices;
        var source = $"VCA (seed {o.Seed})";
        if (o.Extractor == EndmemberExtractor.NFindr)
        {
            var nf = NFindr.Refine(sample.Y, sample.Bands, sample.Count, vca.PixelIndices);
            e = nf.Endmembers;
            pixels = nf.PixelIndices;
            source = $"N-FINDR from the pixels of VCA (seed {o.Seed}), {nf.Swaps} swaps";
        }
        cancel.ThrowIfCancellationRequested();
        // Refinement's cost grows with P (its checks solve FCLS for every pixel); beyond a few tens of materials it is
        // skipped: it is measured on 3-5 (docs/accuracy-linear.md), and large P is rarely a set of pure materials.
        if (o.RefineEndmembers && p > 1 && p <= MaxRefinedEndmembers)
        {
            // On a spread subset of the sample, with the starting pixels appended so that they are in it.
            var subset = sample.Subset(o.RefinePixels);
            int l = sample.Bands, n = subset.Count + p;
            var y = new double[l * n];
            for (var b = 0; b < l; b++)
            {
                Array.Copy(subset.Y, b * subset.Count, y, b * n, subset.Count);
                for (var j = 0; j < p; j++) y[b * n + subset.Count + j] = sample.Y[b * sample.Count + pixels[j]];
            }
            var refined = ArchetypalRefinement.Refine(y, l, n, Enumerable.Range(subset.Count, p).ToArray(),
                new ArchetypalOptions { Subspace = 24, Iterations = 100, CheckEvery = 4 }, cancel: cancel);
            // The refinement fits the pixels' shapes (unit length). It is kept only if the refined spectra also fit
            // the pixels as they are better, under the scaled model (NNLS residual): on a clean scene with pure
            // pixels the extracted pixels already fit best, and shape-only refinement would move them inward.
            var yf = Array.ConvertAll(y, v => (float)v);
            double before = ScaledResidual(yf, l, n, e, p), after = ScaledResidual(yf, l, n, refined.Endmembers, p);
            var keep = after < before;
            if (keep) e = refined.Endmembers;
            source += string.Create(CultureInfo.InvariantCulture,
                $", {(keep ? "refined" : "not refined (it did not lower the scaled residual)")}: convex combinations of {subset.Count} pixels, shape residual {refined.InitialResidual:G3} -> {refined.ChosenResidual:G3} in {refined.Iterations} iterations, scaled residual {before:G3} -> {after:G3}");
        }
        return (new EndmemberSet(e, sample.Bands, p, names, wavelengths), source, vca.SnrDb);
    }

    /// <summary>Largest P whose extracted endmembers are refined.</summary>
    public const int MaxRefinedEndmembers = 10;

    /// <summary>RMS residual of the scaled mixing model (NNLS) of the pixels (L x N) with the given endmembers.</summary>
    private static double ScaledResidual(float[] y, int l, int n, double[] e, int p)
    {
        var residual = new float[n];
        new AbundanceSolver(new EndmemberSet(e, l, p), LinearMethod.Nnls)
            .SolveTile(y, n, Enumerable.Repeat((byte)1, n).ToArray(), new float[p * n], residual, 0f, new TileScratch());
        return Math.Sqrt(residual.Average(r => (double)r * r));
    }

    /// <summary>Each sample pixel divided by its scale under <paramref name="scale"/> (zero-scale pixels stay zero).</summary>
    private static double[] DivideByScale(PixelSample s, EndmemberSet e, PixelScale scale)
    {
        int l = s.Bands, n = s.Count;
        var yf = Array.ConvertAll(s.Y, v => (float)v);
        var scales = new float[n];
        new AbundanceSolver(e, LinearMethod.Fcls, scale: scale)
            .SolveTile(yf, n, Enumerable.Repeat((byte)1, n).ToArray(), new float[e.Count * n], new float[n], 0f, new TileScratch(), scales);
        var y = new double[l * n];
        for (var b = 0; b < l; b++)
            for (var i = 0; i < n; i++) y[b * n + i] = scales[i] > 0 ? s.Y[b * n + i] / scales[i] : 0;
        return y;
    }

    /// <summary>Every file the run reads: the scene with its sidecars, endmembers, model, ROI and truth files.</summary>
    private static IEnumerable<string> InputFiles(UnmixOptions o, RasterSource source)
    {
        foreach (var f in source.Files) yield return f;
        yield return o.Input;
        foreach (var f in new[] { o.EndmembersFile, o.ModelFile, o.Roi, o.TruthAbundances, o.TruthEndmembers })
        {
            if (f is null) continue;
            yield return f;
            // Sidecars that share the file's stem: a spectral library's .hdr, a shapefile's .shx/.dbf/.prj, GDAL's .aux.xml.
            var full = Path.GetFullPath(f);
            var dir = Path.GetDirectoryName(full)!;
            var stem = Path.GetFileNameWithoutExtension(full);
            if (Directory.Exists(dir))
                foreach (var side in Directory.EnumerateFiles(dir, stem + ".*"))
                    if (Path.GetFileNameWithoutExtension(side) == stem || side.StartsWith(full + ".", StringComparison.Ordinal)) yield return side;
        }
    }

    /// <summary>The side outputs' names, derived from the abundance raster's.</summary>
    public sealed record OutputFiles(string Csv, string Sli, string Report, string Qml, string AbundancePng, string SpectraPng, string Model)
    {
        public IReadOnlyList<string> All => [Csv, Sli, Path.ChangeExtension(Sli, ".hdr"), Report, Qml, AbundancePng, SpectraPng, Model];
    }

    public static OutputFiles OutputNames(UnmixOptions o)
    {
        var full = Path.GetFullPath(o.Output);
        var stem = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
        // QGIS applies <raster>.qml automatically when it loads <raster>.
        return new OutputFiles(stem + ".endmembers.csv", stem + ".endmembers.sli", stem + ".report.json", stem + ".qml",
            stem + ".abundances.png", stem + ".endmembers.png", stem + ".model.json");
    }

    private static void Validate(UnmixOptions o)
    {
        if (o.TileSize < 16) throw new UsageException($"--tile must be at least 16 pixels, got {o.TileSize}");
        if (o.Threads < 1) throw new UsageException($"--threads must be at least 1, got {o.Threads}");
        if (o.MemoryBytes < 16L << 20) throw new UsageException($"--memory must be at least 16 MB, got {o.MemoryBytes >> 20} MB");
        if (o.EndmemberCount is < 1) throw new UsageException($"-p must be at least 1, got {o.EndmemberCount}");
        if (o.EndmembersFile is not null && o.EndmemberCount is not null) throw new UsageException("give either --endmembers or -p, not both");
        if (o.ModelFile is not null && (o.EndmembersFile is not null || o.EndmemberCount is not null))
            throw new UsageException("--model brings its own endmembers: do not combine it with --endmembers or -p");
        if (o.ModelFile is not null && o.Method != UnmixMethod.Mtl) throw new UsageException("--model applies a deep model: use it with --method mtl");
        if (o.FitPixels < 100) throw new UsageException($"--fit-pixels must be at least 100, got {o.FitPixels}");
        if (o.SampleSize < 100) throw new UsageException($"--sample must be at least 100 pixels, got {o.SampleSize}");
        if (!double.IsFinite(o.InputScale) || o.InputScale <= 0) throw new UsageException($"--scale must be a positive number, got {o.InputScale}");
    }

    /// <summary>Opens the run's input with its nodata, NaN and reader options.</summary>
    public static RasterSource OpenInput(UnmixOptions o) => RasterSource.Open(o.Input, new RasterOpenOptions
    {
        AllowRawPath = !o.ForceGdalReader,
        NoData = o.InputNoData,
        Nan = o.NanAsNoData ? NanPolicy.Mask : NanPolicy.Error,
    });

    /// <summary>The 0-based bands a run uses: --bands (all by default), minus the bad bands with --drop-bad-bands.</summary>
    public static int[] SelectBands(UnmixOptions o, RasterInfo info)
    {
        var bands = (o.Bands ?? Enumerable.Range(0, info.BandCount).ToArray()).ToList();
        foreach (var b in bands)
            if (b < 0 || b >= info.BandCount) throw new UsageException($"band {b + 1} does not exist: {info.Path} has {info.BandCount} bands");
        if (o.DropBadBands) bands.RemoveAll(info.BadBands.Contains);
        if (bands.Count == 0) throw new UsageException("no bands left to unmix");
        if (bands.Distinct().Count() != bands.Count) throw new UsageException("a band is selected twice");
        return bands.ToArray();
    }

    /// <summary>Tile side and worker count such that the tiles in flight fit the memory budget.</summary>
    private static (int Tile, int Workers) PlanMemory(UnmixOptions o, int bands, int p)
    {
        // Per pixel: input tile and output bands (float), mask; per worker: the solver's chunk of spectra (float).
        long perPixel = 4L * (bands + p + 1) + 1;
        var fixedPerWorker = 4L * bands * TileScratch.ChunkPixels;
        var workers = o.Threads;
        var tile = o.TileSize;
        while (workers * (perPixel * tile * tile + fixedPerWorker) > o.MemoryBytes / 2 && tile > 16) tile = Math.Max(16, tile / 2);
        while (workers > 1 && workers * (perPixel * tile * tile + fixedPerWorker) > o.MemoryBytes / 2) workers--;
        return (tile, workers);
    }

    private static Dictionary<string, string> RunMetadata(UnmixOptions o, RasterInfo info, EndmemberSet e, string source) => new()
    {
        ["HYPERUNMIX_VERSION"] = Version,
        ["HYPERUNMIX_METHOD"] = o.Method.ToString().ToUpperInvariant(),
        ["HYPERUNMIX_MTL"] = o.Method == UnmixMethod.Mtl
            ? string.Create(CultureInfo.InvariantCulture, $"alpha={o.Mtl.Alpha} beta={o.Mtl.Beta} lambda={o.Mtl.Lambda} epochs<={o.Mtl.MaxEpochs} row={o.Mtl.RowBranch} column={o.Mtl.ColumnBranch} nonlinear={o.Mtl.Nonlinear}")
            : "n/a",
        ["HYPERUNMIX_INPUT"] = Path.GetFullPath(info.Path),
        ["HYPERUNMIX_ENDMEMBERS"] = string.Join(",", e.Names),
        ["HYPERUNMIX_ENDMEMBER_SOURCE"] = source,
        ["HYPERUNMIX_P"] = e.Count.ToString(CultureInfo.InvariantCulture),
        ["HYPERUNMIX_SEED"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["HYPERUNMIX_PARAMETERS"] = $"bands={e.Bands} scale={o.InputScale.ToString(CultureInfo.InvariantCulture)} roi={(o.Roi is null ? "none" : Path.GetFileName(o.Roi))} normalize={NormalizeName(o.EffectiveNormalize)}",
        ["HYPERUNMIX_GDAL"] = GdalLibrary.Version,
    };

    /// <summary>The command line's name of a pixel scale (--normalize).</summary>
    public static string NormalizeName(PixelScale s) => s switch { PixelScale.Sum => "scale", PixelScale.Length => "l2", _ => "none" };

    private static LinearMethod ToLinear(UnmixMethod m) => m switch
    {
        UnmixMethod.Ucls => LinearMethod.Ucls,
        UnmixMethod.Scls => LinearMethod.Scls,
        UnmixMethod.Nnls => LinearMethod.Nnls,
        _ => LinearMethod.Fcls,
    };

    /// <summary>The " : '/path'" .NET appends to I/O messages (here a temporary's path).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\s*:\s*'[^']*'\s*$")]
    private static partial System.Text.RegularExpressions.Regex TrailingPath();
}
