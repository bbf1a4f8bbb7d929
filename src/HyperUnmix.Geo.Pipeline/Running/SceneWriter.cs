using System.Globalization;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// Writes one planned scene's outputs, the same way for every runner (the local one, in parallel as tiles finish; a
/// cluster's assembler, in tile order): the abundance raster through <see cref="RasterSink"/>, the quick-look, then
/// the side outputs (endmembers, style, model, report), all under temporary names in the run's
/// <see cref="OutputSet"/> until <see cref="Finish"/> commits them together.
/// </summary>
internal sealed partial class SceneWriter : IDisposable
{
    private readonly OutputSet _outputs;
    private readonly UnmixPlan _plan;
    private readonly RasterInfo _info;
    private readonly Preview _preview;
    private RasterSink? _sink;
    private long _valid;

    public SceneWriter(OutputSet outputs, UnmixPlan plan, RasterInfo info)
    {
        _outputs = outputs;
        _plan = plan;
        _info = info;
        _preview = new Preview(plan.Area.Width, plan.Area.Height, plan.Endmembers.Count);
        var profile = RasterProfile.FromSource(info, plan.Area, plan.OutputBands) with { NoData = plan.Options.Outputs.OutputNoData, Metadata = plan.Metadata };
        _sink = RasterSink.Create(outputs, plan.Options.Outputs.Output, profile, plan.Options.Outputs.Format);
    }

    /// <summary>
    /// Every file a run of <paramref name="o"/> writes, reserved (checked against the inputs: none of them is an input,
    /// nothing is replaced without <paramref name="overwrite"/>) before any work.
    /// </summary>
    public static OutputSet Reserve(UnmixOptions o, RasterSource source, bool overwrite)
    {
        var outputs = OutputFiles.For(o.Outputs.Output);
        // The model file is an output when the run fits one.
        var fits = UnmixMethods.Get(o.Method.Name).FitsModel && o.Method.ModelFile is null && !o.Execution.IoOnly;
        var sideOutputs = o.Outputs.SideOutputs ? outputs.All.Where(f => fits || f != outputs.Model).ToList() : [];
        var rasterFiles = RasterSink.FinalFiles(Path.GetFullPath(o.Outputs.Output), o.Outputs.Format).ToList();
        return OutputSet.Begin(rasterFiles.Concat(sideOutputs), InputFiles(o, source), overwrite,
            outputs.All.Append(Path.GetFullPath(o.Outputs.Output) + ".aux.xml"));
    }

    /// <summary>Writes a finished tile (its window in scene coordinates, band-sequential output); thread-safe.</summary>
    public void Write(Window tile, ReadOnlySpan<float> output, int valid)
    {
        var w = tile.RelativeTo(_plan.Area);
        _sink!.WriteTile(w, output);
        _preview.Add(w, output, _plan.Options.Outputs.OutputNoData);
        Interlocked.Add(ref _valid, valid);
    }

    /// <summary>Completes the abundance raster (compressed and closed under its temporary name); refuses a scene with no valid pixel.</summary>
    public void CompleteRaster()
    {
        if (Interlocked.Read(ref _valid) == 0) throw ScenePlanner.NoValidPixel(_plan.Options, _plan.Options.Scene.Roi is not null);
        _sink!.Commit();
        _sink.Dispose();
        _sink = null;
    }

    /// <summary>Writes the side outputs and commits every output of the run at once.</summary>
    public UnmixResult Finish(string readPath, int workers, MtlFit? fit, StageClock clock, CancellationToken cancel)
    {
        var o = _plan.Options;
        var outputs = OutputFiles.For(o.Outputs.Output);
        var result = new UnmixResult
        {
            Output = Path.GetFullPath(o.Outputs.Output),
            // The files this run writes: the model only when it fitted one (an FCLS run's report listed a.model.json).
            SideOutputs = o.Outputs.SideOutputs ? outputs.All.Where(f => fit is not null || f != outputs.Model).ToList() : [],
            Endmembers = _plan.Endmembers.ToSet(),
            EndmemberSource = _plan.EndmemberSource,
            Area = _plan.Area,
            ValidPixels = _valid,
            TotalPixels = _plan.Area.Area,
            Tiles = _plan.Grid.Count,
            TileSize = _plan.TileSize,
            Workers = workers,
            ReadPath = readPath,
            StageSeconds = _plan.StageSeconds,
            Screen = _plan.Screen,
            Brightness = _plan.Brightness,
            RequestedBands = _plan.RequestedBands,
            Estimate = _plan.EstimatedCount is { } c ? new Unmixing.Extraction.HySimeResult(c, [], []) : null,
            VcaSnrDb = _plan.VcaSnrDb,
            Fit = fit,
            ModelFile = fit is not null && o.Outputs.SideOutputs ? outputs.Model : o.Method.ModelFile,
        };
        if (o.Outputs.SideOutputs) WriteSideOutputs(result, fit, outputs, clock);
        cancel.ThrowIfCancellationRequested();
        _outputs.Commit();
        return result;
    }

    /// <summary>The endmember files, style, quick-looks, model and report, each under its temporary name in the set.</summary>
    private void WriteSideOutputs(UnmixResult result, MtlFit? fit, OutputFiles outputs, StageClock clock)
    {
        var o = _plan.Options;
        var endmembers = result.Endmembers;
        // Side outputs go to their temporary names too; the report's metrics read the finished raster there.
        void Side(string final, Action<string> write)
        {
            var temp = _outputs.Temp(final);
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
                ["software"] = $"HyperUnmix.Geo {UnmixJob.Version}",
                ["input"] = Path.GetFullPath(o.Scene.Input),
                ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
                ["fit_pixels"] = fit.Pixels.ToString(CultureInfo.InvariantCulture),
                ["epochs"] = fit.Epochs.ToString(CultureInfo.InvariantCulture),
            }));
        Side(outputs.Csv, t => EndmemberFiles.WriteCsv(t, endmembers));
        Side(outputs.Sli, t => EndmemberFiles.WriteEnviLibrary(t, endmembers));
        Side(outputs.Qml, t => StyleFile.Write(t, endmembers.Names, o.Outputs.OutputNoData));
        Side(outputs.AbundancePng, t => QuickLook.WriteAbundances(t, _preview));
        Side(outputs.SpectraPng, t => QuickLook.WriteSpectra(t, endmembers));
        clock.Lap("side outputs");
        Side(outputs.Report, t => RunReport.Write(t, o, _info, result, Blas.Default.Name, _outputs.Temp(result.Output)));
    }

    /// <summary>Every file the run reads: the scene with its sidecars, endmembers, model, ROI and truth files.</summary>
    private static IEnumerable<string> InputFiles(UnmixOptions o, RasterSource source) =>
        source.Files.Append(o.Scene.Input).Concat(WithSidecars([o.Endmembers.EndmembersFile, o.Method.ModelFile, o.Scene.Roi, o.Outputs.TruthAbundances, o.Outputs.TruthEndmembers]));

    /// <summary>
    /// The given files and the sidecars that share their stem (a spectral library's .hdr, a shapefile's .shx/.dbf/.prj,
    /// GDAL's .aux.xml): none may be overwritten by an output.
    /// </summary>
    internal static IEnumerable<string> WithSidecars(IEnumerable<string?> files)
    {
        foreach (var f in files)
        {
            if (f is null) continue;
            yield return f;
            var full = Path.GetFullPath(f);
            var dir = Path.GetDirectoryName(full)!;
            var stem = Path.GetFileNameWithoutExtension(full);
            if (Directory.Exists(dir))
                foreach (var side in Directory.EnumerateFiles(dir, stem + ".*"))
                    if (Path.GetFileNameWithoutExtension(side) == stem || side.StartsWith(full + ".", StringComparison.Ordinal)) yield return side;
        }
    }

    public void Dispose() => _sink?.Dispose();

    /// <summary>The " : '/path'" .NET appends to I/O messages (here a temporary's path).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\s*:\s*'[^']*'\s*$")]
    private static partial System.Text.RegularExpressions.Regex TrailingPath();
}
