using System.Reflection;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>What a finished run produced and measured.</summary>
public sealed record UnmixResult
{
    /// <summary>The abundance raster, full path.</summary>
    public required string Output { get; init; }
    /// <summary>The side outputs written next to it, full paths (empty when <see cref="OutputOptions.SideOutputs"/> is off; the model file only when the run fitted one).</summary>
    public required IReadOnlyList<string> SideOutputs { get; init; }
    /// <summary>The endmembers the abundances refer to, over the bands used (for the deep method, the model's), in output band order.</summary>
    public required EndmemberSet Endmembers { get; init; }
    /// <summary>Where the endmembers came from: the file's full path, "deep model PATH", or how they were extracted (and, when P was estimated, how it was chosen).</summary>
    public required string EndmemberSource { get; init; }
    /// <summary>The part of the scene unmixed, in scene pixels: the ROI's bounding window, or the whole scene. The raster covers exactly this window.</summary>
    public required Window Area { get; init; }
    /// <summary>Pixels unmixed: in <see cref="Area"/>, not nodata, inside the ROI and not screened out; every other pixel is <see cref="OutputOptions.OutputNoData"/> in every band.</summary>
    public required long ValidPixels { get; init; }
    /// <summary>Pixels in <see cref="Area"/>.</summary>
    public required long TotalPixels { get; init; }
    /// <summary>Number of tiles the area was split into.</summary>
    public required int Tiles { get; init; }
    /// <summary>Tile side in pixels: <see cref="ExecutionOptions.TileSize"/>, halved while the tiles in flight exceed half the memory budget (at least 16).</summary>
    public required int TileSize { get; init; }
    /// <summary>Tiles unmixed in parallel (at most <see cref="ExecutionOptions.Threads"/>; 1 for <see cref="UnmixJob.Assemble"/>).</summary>
    public required int Workers { get; init; }
    /// <summary>How the input was read: raw reads of the file's layout, or "GDAL RasterIO (why)" (<see cref="RasterSource.ReadPath"/>).</summary>
    public required string ReadPath { get; init; }
    /// <summary>Wall-clock seconds by stage ("open", "endmembers", "brightness", "fit", "unmix" or "assemble", "side outputs"; those the run went through), rounded to milliseconds.</summary>
    public required IReadOnlyDictionary<string, double> StageSeconds { get; init; }
    /// <summary>The input's screening: bands used and left out, fill pixels (<see cref="BandScreen"/>).</summary>
    public ScreenResult? Screen { get; init; }
    /// <summary>The brightness decision (scaled or plain model) when the run made one (<see cref="BrightnessTest"/>).</summary>
    public BrightnessDecision? Brightness { get; init; }
    /// <summary>Bands the options selected, before the screening.</summary>
    public int RequestedBands { get; init; }
    /// <summary>HySime's count of endmembers, a second opinion when P was estimated (P itself is the residual's elbow); null when P was given or not needed. Only <see cref="HySimeResult.Count"/> is filled.</summary>
    public HySimeResult? Estimate { get; init; }
    /// <summary>The signal-to-noise ratio the extractor estimated, dB, when endmembers were extracted and it estimated one; else null.</summary>
    public double? VcaSnrDb { get; init; }
    /// <summary>The deep model's fit, when one was made in this run.</summary>
    public MtlFit? Fit { get; init; }
    /// <summary>Where the deep model came from or was saved.</summary>
    public string? ModelFile { get; init; }
}

/// <summary>
/// The scene pipeline, as a .NET user calls it: <see cref="Run"/> on one machine; <see cref="PlanScene"/> and
/// <see cref="Assemble"/> for runners that process the plan's tiles elsewhere (<see cref="TileProcessor"/>).
/// The stages live in their own rooms: Planning (<see cref="ScenePlanner"/>, <see cref="EndmemberStage"/>,
/// <see cref="UnmixPlan"/>), Methods (the registry of abundance methods), Tiles (<see cref="TileProcessor"/>),
/// Running (the local runner and the <see cref="SceneWriter"/> every runner writes through) and Outputs.
/// </summary>
public static class UnmixJob
{
    /// <summary>This library's version, e.g. "0.1.0" (the informational version without its "+commit" suffix; "0" when it has none); written into every output's metadata.</summary>
    public static string Version => typeof(UnmixJob).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    /// <summary>Unmixes a scene on this machine: reader → endmembers → tiles unmixed in parallel → writer.</summary>
    public static UnmixResult Run(UnmixOptions o, ProgressHandler? progress = null, CancellationToken cancel = default) =>
        LocalRunner.Run(o, progress, cancel);

    /// <summary>
    /// Plans one scene for tiles processed elsewhere (the cluster runner): endmembers extracted or read and the deep
    /// model fitted once, the model written into <paramref name="stateDir"/> (which must exist) and named in the plan
    /// with its SHA-256. The same computation as <see cref="Run"/>'s, so tiles
    /// computed from the plan are those of a single-machine run.
    /// </summary>
    public static UnmixPlan PlanScene(UnmixOptions o, string stateDir, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        var (plan, source) = PlanSceneKeepingSource(o, stateDir, progress, cancel);
        source.Dispose();
        return plan;
    }

    /// <summary>
    /// As <see cref="PlanScene"/>, and the scene stays open for the caller (who disposes it): a runner that goes on
    /// with the scene's tiles hands it to <see cref="TileProcessor.Open(UnmixPlan, RasterSource, CancellationToken)"/>,
    /// so the blocks the planning decompressed (GDAL's block cache belongs to the open file) are not decompressed again.
    /// </summary>
    public static (UnmixPlan Plan, RasterSource Source) PlanSceneKeepingSource(UnmixOptions o, string stateDir, ProgressHandler? progress = null, CancellationToken cancel = default)
    {
        ScenePlanner.Validate(o);
        var clock = new StageClock();
        var (source, bands, roi, area) = ScenePlanner.OpenScene(o, cancel);
        try
        {
            clock.Lap("open");
            var prepared = ScenePlanner.Prepare(o, source, bands, roi, area, progress, clock, cancel);
            // The folder is not created here: the caller owns it (a cluster's late duplicate must not create one).
            if (!Directory.Exists(stateDir)) throw new DirectoryNotFoundException($"{stateDir}: the plan's folder does not exist");
            return (prepared.Artifacts.Save(prepared.Plan, stateDir, writesModel: prepared.Fit is not null), source);
        }
        catch
        {
            source.Dispose();
            throw;
        }
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
        using var source = ScenePlanner.OpenInput(o);
        using var outputSet = SceneWriter.Reserve(o, source, overwrite: true);
        var grid = plan.Grid;
        using var writer = new SceneWriter(outputSet, plan, source.Info);
        for (var k = 0; k < grid.Count; k++)
        {
            cancel.ThrowIfCancellationRequested();
            var (n, output) = tile(k);
            writer.Write(grid[k].Window, output, n);
            progress?.Invoke("assemble", (k + 1.0) / grid.Count);
        }
        writer.CompleteRaster();
        clock.Lap("assemble");
        MtlFit? fit = null;
        if (plan.Fit is { } f && plan.ModelFile is not null)
            fit = new MtlFit(MtlModel.Load(plan.ModelFile), f.Pixels, f.LossHistory, f.Epochs, f.Seconds, f.Gflops, f.ValidationHistory, f.Test);
        return writer.Finish(source.ReadPath, 1, fit, clock, cancel);
    }

    /// <summary>The outputs a run of <paramref name="o"/> would write, checked and reserved, then released (a cluster job checks them up front).</summary>
    public static void CheckOutputs(UnmixOptions o)
    {
        using var source = OpenInput(o);
        using var set = SceneWriter.Reserve(o, source, o.Outputs.Overwrite);
    }

    /// <summary>The side outputs' names for a run of <paramref name="o"/>.</summary>
    internal static OutputFiles OutputNames(UnmixOptions o) => OutputFiles.For(o.Outputs.Output);

    /// <summary>Opens the run's input with its nodata, NaN and reader options.</summary>
    public static RasterSource OpenInput(UnmixOptions o) => ScenePlanner.OpenInput(o);

    /// <summary>The 0-based bands a run uses: --bands (all by default), minus the bad bands with --drop-bad-bands.</summary>
    public static int[] SelectBands(UnmixOptions o, RasterInfo info) => ScenePlanner.SelectBands(o, info);

    /// <summary>
    /// The screening a run of <paramref name="o"/> makes of <paramref name="bands"/> (<see cref="BandScreen"/>), and
    /// the sample of the bands it keeps, read on first use.
    /// </summary>
    internal static (ScreenResult Screen, Func<PixelSample> Sample) Screen(UnmixOptions o, RasterSource source, int[] bands, RegionOfInterest? roi, Window area) =>
        ScenePlanner.Screen(o, source, bands, roi, area);
}
