using System.Text.Json;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// One MESMA scene's plan: the options, the scene bands used, and the library as matched to them (the resampled
/// spectra of the classes used, exactly: doubles round-trip through JSON), with the tile grid and the output's band
/// names and metadata. Every tile is a pure function of the plan and its window (<see cref="MesmaTiles"/>): the
/// models are enumerated from the spectra the same way wherever a tile runs. The local runner and the cluster
/// runner both work from it.
/// </summary>
internal sealed record MesmaPlan
{
    /// <remarks>2: the scene's options nested by concern, without threads and memory.</remarks>
    public const int CurrentVersion = 2;
    /// <summary>Tells a MESMA plan file from an unmixing one (<see cref="IsMesmaPlan"/>).</summary>
    public const string KindName = "mesma";
    public int Version { get; init; } = CurrentVersion;
    public string Kind { get; init; } = KindName;
    public required MesmaOptions Options { get; init; }
    /// <summary>0-based scene bands read (screened, then those the library covers).</summary>
    public required int[] Bands { get; init; }
    public required Window Area { get; init; }
    public required int TileSize { get; init; }
    /// <summary>Threads of a local run (the memory plan's).</summary>
    public required int Workers { get; init; }
    /// <summary>The library spectra used, resampled to <see cref="Bands"/>.</summary>
    public required double[][] Spectra { get; init; }
    public required int[] SpectrumClass { get; init; }
    public required string[] SpectrumNames { get; init; }
    public required string[] ClassNames { get; init; }
    public required string ClassField { get; init; }
    public required string[] Colours { get; init; }
    public required string LibraryUnits { get; init; }
    public required ResampleReport Resampling { get; init; }
    public required string[] BandNames { get; init; }
    public required Dictionary<string, string> Metadata { get; init; }

    public TilePlan Grid => new(Area, TileSize, TileSize);

    /// <summary>The models, enumerated from the plan's spectra (the same models wherever this runs).</summary>
    public MesmaModels Models() => new(Spectra, SpectrumClass, ClassNames, SpectrumNames, Options.Settings);

    /// <summary>The output raster's profile over <see cref="Area"/> of the scene.</summary>
    public RasterProfile Profile(RasterInfo info) =>
        RasterProfile.FromSource(info, Area, BandNames) with { NoData = Options.Scene.Outputs.OutputNoData, Metadata = Metadata };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, UnmixPlan.JsonOptions);

    /// <summary>Reads a MESMA plan file, or says which file is not one.</summary>
    public static MesmaPlan Load(string path) => Load(File.ReadAllBytes(path), path);

    /// <summary>A MESMA plan from a plan file's bytes (<paramref name="path"/> names it in errors).</summary>
    public static MesmaPlan Load(byte[] json, string path)
    {
        try
        {
            if (UnmixPlan.VersionOf(json) is { } v && v != CurrentVersion && IsMesmaPlan(json))
                throw new RasterDataException(path, $"MESMA plan version {v} is not supported (this version reads {CurrentVersion})");
            var plan = JsonSerializer.Deserialize<MesmaPlan>(json, UnmixPlan.JsonOptions) ?? throw new JsonException("empty");
            if (plan.Kind != KindName) throw new JsonException($"its kind is '{plan.Kind}'");
            if (plan.Version != CurrentVersion) throw new RasterDataException(path, $"MESMA plan version {plan.Version} is not supported (this version reads {CurrentVersion})");
            return plan;
        }
        catch (JsonException e)
        {
            throw new RasterDataException(path, $"is not a MESMA plan file ({e.Message})");
        }
    }

    /// <summary>Whether a plan file's bytes are a MESMA plan (its "Kind"); an unmixing plan has none.</summary>
    public static bool IsMesmaPlan(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty(nameof(Kind), out var k) && k.ValueKind == JsonValueKind.String && k.GetString() == KindName;
    }
}

/// <summary>
/// Solves MESMA tiles of a plan: (plan, window) -> class fractions, shade, rmse, model and the optional bands.
/// Every runner uses it: the local runner in parallel over one scene, cluster workers one leased tile at a time.
/// Thread-safe; each thread takes its own <see cref="Workspace"/>. A pixel's result depends on the pixel alone.
/// </summary>
internal sealed class MesmaTiles : IDisposable
{
    private readonly RasterSource _source;
    private readonly bool _ownsSource;
    private readonly RegionOfInterest? _roi;
    private readonly UnmixOptions _o;
    private readonly MesmaModels _models;
    private readonly MesmaSolver _solver;
    private readonly MesmaSolver[] _monteCarlo;

    public MesmaTiles(MesmaPlan plan, RasterSource source, RegionOfInterest? roi, MesmaModels models, bool ownsSource)
    {
        Plan = plan;
        Grid = plan.Grid;
        _source = source;
        _roi = roi;
        _ownsSource = ownsSource;
        _o = plan.Options.Scene;
        _models = models;
        _solver = new MesmaSolver(models);
        _monteCarlo = MonteCarloSolvers(plan.Options.Settings, plan.Spectra, plan.SpectrumClass, plan.ClassNames, plan.SpectrumNames);
    }

    /// <summary>
    /// Opens what a plan's tiles need from the scene already open (the one the plan was made from, or the file
    /// opened again): the ROI and the models. The processor owns the source from here, also on failure.
    /// </summary>
    public static MesmaTiles Open(MesmaPlan plan, RasterSource source, CancellationToken cancel = default)
    {
        var o = plan.Options.Scene;
        try
        {
            var info = source.Info;
            if (!new Window(0, 0, info.Width, info.Height).Contains(plan.Area) || plan.Bands.Any(b => b < 0 || b >= info.BandCount))
                throw new RasterDataException(o.Scene.Input, $"does not match its plan ({info.Width}x{info.Height}, {info.BandCount} bands): the file changed after planning");
            var roi = o.Scene.Roi is null ? null : RegionOfInterest.Load(o.Scene.Roi, info, o.Scene.RoiSelection, cancel);
            return new MesmaTiles(plan, source, roi, plan.Models(), ownsSource: true);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>Opens the plan's scene with the run's reading options, then as <see cref="Open(MesmaPlan, RasterSource, CancellationToken)"/>.</summary>
    public static MesmaTiles Open(MesmaPlan plan, CancellationToken cancel = default) =>
        Open(plan, ScenePlanner.OpenInput(MesmaJob.SceneOptions(plan.Options)), cancel);

    /// <summary>The Monte Carlo runs' solvers: the same search over random subsets of each class's spectra (<see cref="MesmaSettings.MonteCarloSubsets"/>).</summary>
    private static MesmaSolver[] MonteCarloSolvers(MesmaSettings settings, double[][] spectra, int[] spectrumClass, string[] classNames, string[] spectrumNames) =>
        settings.MonteCarloSubsets(spectrumClass, classNames.Length).Select(sub => new MesmaSolver(new MesmaModels(
            sub.Select(i => spectra[i]).ToArray(), sub.Select(i => spectrumClass[i]).ToArray(), classNames, sub.Select(i => spectrumNames[i]).ToArray(), settings))).ToArray();

    /// <summary>The models of each Monte Carlo run (empty without <see cref="MesmaSettings.MonteCarloRuns"/>).</summary>
    public MesmaModels[] MonteCarloModels => _monteCarlo.Select(m => m.Models).ToArray();

    public MesmaPlan Plan { get; }
    public TilePlan Grid { get; }
    public int OutputBands => Plan.BandNames.Length;

    public Workspace CreateWorkspace() =>
        new(Plan.Bands.Length, Grid.TileWidth * Grid.TileHeight, OutputBands, Plan.ClassNames.Length, _monteCarlo.Length > 0);

    /// <summary>One thread's buffers, reused from tile to tile.</summary>
    public sealed class Workspace
    {
        internal Workspace(int bands, int pixels, int outBands, int classes, bool monteCarlo)
        {
            McSum = new double[monteCarlo ? 2 * classes * pixels : 0];
            McRuns = new int[monteCarlo ? pixels : 0];
            Spread = new double[(classes + 1) * pixels];
            Y = new float[bands * pixels];
            Valid = new byte[pixels];
            Inside = new byte[pixels];
            Model = new int[pixels];
            Sse = new double[pixels];
            Output = new float[outBands * pixels];
        }

        internal double[] McSum { get; }
        internal int[] McRuns { get; }
        internal double[] Spread { get; }
        internal float[] Y { get; }
        internal byte[] Valid { get; }
        internal byte[] Inside { get; }
        internal int[] Model { get; }
        internal double[] Sse { get; }
        internal MesmaSolver.Scratch Scratch { get; } = new();
        /// <summary>The tile's output, band-sequential (bands x the tile's pixels), nodata outside the valid pixels.</summary>
        public float[] Output { get; }
    }

    /// <summary>
    /// Solves tile <paramref name="index"/> of <see cref="Grid"/> into <see cref="Workspace.Output"/>. Returns its valid
    /// pixels and those no model fitted; <paramref name="perLevel"/> (when given) counts the pixels per chosen level.
    /// </summary>
    public (int Valid, int Unmodelled) Process(int index, Workspace ws, long[]? perLevel = null)
    {
        var w = Grid[index].Window;
        var n = (int)w.Area;
        var models = _models;
        int c = models.ClassNames.Length, L = Plan.Bands.Length, outBands = OutputBands;
        var output = ws.Output.AsSpan(0, outBands * n);
        output.Fill(_o.Outputs.OutputNoData);
        var valid = ws.Valid.AsSpan(0, n);
        if (_roi is not null)
        {
            ws.Inside.AsSpan(0, n).Fill(1);
            if (_roi.Mask(w, ws.Inside.AsSpan(0, n)) == 0) return (0, 0);
        }
        var y = ws.Y.AsSpan(0, L * n);
        _source.Read(w, Plan.Bands, y, valid, BufferLayout.BandSequential);
        for (var k = 0; k < n; k++)
        {
            if (_roi is not null) valid[k] &= ws.Inside[k];
            if (valid[k] == 0) continue;
            // Fill pixels (0 in every band) are nodata, as in every run.
            var zero = true;
            for (var b = 0; b < L && zero; b++) zero = y[b * n + k] == 0;
            if (zero) valid[k] = 0;
        }
        if (_o.Scene.InputScale != 1)
            foreach (ref var v in y) v = (float)(v * _o.Scene.InputScale);
        var model = ws.Model.AsSpan(0, n);
        var sse = ws.Sse.AsSpan(0, n);
        var uncertainty = models.Settings.UncertaintyRmse is not null;
        var normalised = models.Settings.ShadeNormalised;
        var spread = ws.Spread.AsSpan(0, uncertainty ? (c + 1) * n : 0);
        _solver.Solve(new MesmaSolver.Buffers { Y = y, Pixels = n, Valid = valid, Model = model, Sse = sse, Spread = spread }, ws.Scratch);
        var first = c + 3 + (normalised ? c : 0);
        Span<double> x = stackalloc double[MesmaModels.MaxLevel];
        int nValid = 0, unmodelled = 0;
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) continue;
            nValid++;
            var m = model[k];
            if (m < 0)
            {
                unmodelled++;
                output[(c + 2) * n + k] = -1;
                continue;
            }
            _solver.Fractions(m, y, n, k, x);
            double sum = 0;
            for (var cl = 0; cl < c; cl++) output[cl * n + k] = 0;
            var a = 0;
            foreach (var i in models.Spectrum(m))
            {
                output[models.ClassOf[i] * n + k] = (float)x[a];
                sum += x[a++];
            }
            output[c * n + k] = (float)(1 - sum);
            output[(c + 1) * n + k] = (float)MesmaSolver.Rmse(sse[k], L);
            output[(c + 2) * n + k] = m;
            if (normalised)
                for (var cl = 0; cl < c; cl++) output[(c + 3 + cl) * n + k] = (float)(output[cl * n + k] / sum);
            if (uncertainty)
                for (var cl = 0; cl <= c; cl++) output[(first + cl) * n + k] = (float)spread[cl * n + k];
            if (perLevel is not null) Interlocked.Increment(ref perLevel[models.Level[m]]);
        }
        if (_monteCarlo.Length > 0) MonteCarlo(ws, y, n, valid, output, c, first + (uncertainty ? c + 1 : 0));
        return (nValid, unmodelled);
    }

    /// <summary>
    /// Each Monte Carlo run's search on the tile; per valid pixel, each class fraction's standard deviation over
    /// the runs that modelled it (a class not in a run's model counts 0; nodata where no run did) at bands <paramref name="at"/>.., their count after.
    /// </summary>
    private void MonteCarlo(Workspace ws, ReadOnlySpan<float> y, int n, ReadOnlySpan<byte> valid, Span<float> output, int c, int at)
    {
        var sum = ws.McSum.AsSpan(0, c * n);
        var sq = ws.McSum.AsSpan(c * n, c * n);
        var runs = ws.McRuns.AsSpan(0, n);
        sum.Clear(); sq.Clear(); runs.Clear();
        var model = ws.Model.AsSpan(0, n);
        var sse = ws.Sse.AsSpan(0, n);
        Span<double> x = stackalloc double[MesmaModels.MaxLevel];
        foreach (var run in _monteCarlo)
        {
            run.Solve(new MesmaSolver.Buffers { Y = y, Pixels = n, Valid = valid, Model = model, Sse = sse }, ws.Scratch);
            for (var k = 0; k < n; k++)
            {
                if (valid[k] == 0 || model[k] < 0) continue;
                runs[k]++;
                run.Fractions(model[k], y, n, k, x);
                var a = 0;
                foreach (var i in run.Models.Spectrum(model[k]))
                {
                    var cl = run.Models.ClassOf[i];
                    sum[cl * n + k] += x[a];
                    sq[cl * n + k] += x[a] * x[a];
                    a++;
                }
            }
        }
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) continue;
            var r = runs[k];
            for (var cl = 0; cl < c; cl++)
            {
                var mean = r > 0 ? sum[cl * n + k] / r : 0;
                output[(at + cl) * n + k] = r > 0 ? (float)Math.Sqrt(Math.Max(0, sq[cl * n + k] / r - mean * mean)) : _o.Outputs.OutputNoData;
            }
            output[(at + c) * n + k] = r;
        }
    }

    public void Dispose()
    {
        if (_ownsSource) _source.Dispose();
    }
}
