using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// Unmixes tiles of a plan: (plan, window) -> abundance and residual bands. Every runner uses it: the local runner
/// in parallel over one scene, cluster workers one leased tile at a time. Thread-safe; each thread takes its own
/// <see cref="Workspace"/>.
/// </summary>
public sealed class TileProcessor : IDisposable
{
    private readonly RasterSource _source;
    private readonly bool _ownsSource;
    private readonly RegionOfInterest? _roi;
    private readonly ITileUnmixer? _unmixer;
    private readonly double[]? _signalWeights;

    /// <summary>Each endmember's signal: its samples summed over the bands used (what a signal-weighted fraction weighs).</summary>
    private static double[] SignalWeights(PlanEndmembers e)
    {
        var w = new double[e.Count];
        for (var b = 0; b < e.Bands; b++)
            for (var j = 0; j < e.Count; j++) w[j] += e.E[b * e.Count + j];
        return w;
    }

    /// <summary>
    /// Physical fractions (area shares) into signal-weighted ones (each material's share of the pixel's signal):
    /// a_j w_j / Σ a_k w_k, per valid pixel, in a fixed order. The convention of references built from
    /// max-normalised endmembers (Samson: a 50/50 water/soil mix counts there as about 7/93).
    /// </summary>
    private static void ToSignalFractions(in TileBuffers t, double[] w)
    {
        Span<float> output = t.Abundances;
        ReadOnlySpan<byte> valid = t.Valid;
        var (stride, m) = (t.AbundanceStride, t.Pixels);
        for (var k = 0; k < m; k++)
        {
            if (valid[k] == 0) continue;
            double total = 0;
            for (var j = 0; j < w.Length; j++) total += output[j * stride + k] * w[j];
            if (!(total > 0)) continue;
            for (var j = 0; j < w.Length; j++) output[j * stride + k] = (float)(output[j * stride + k] * w[j] / total);
        }
    }

    internal TileProcessor(UnmixPlan plan, RasterSource source, RegionOfInterest? roi, ITileUnmixer? unmixer, bool ownsSource)
    {
        Plan = plan;
        Grid = plan.Grid;
        _source = source;
        _roi = roi;
        _unmixer = unmixer;
        _ownsSource = ownsSource;
        _signalWeights = plan.Options.Method.SignalFractions ? SignalWeights(plan.Endmembers) : null;
    }

    /// <summary>The plan whose tiles this processor unmixes.</summary>
    public UnmixPlan Plan { get; }
    /// <summary>The plan's tiles (<see cref="UnmixPlan.Grid"/>): <see cref="Process"/> takes an index into it.</summary>
    public TilePlan Grid { get; }
    /// <summary>Abundance bands and the residual.</summary>
    public int OutputBands => Plan.Endmembers.Count + 1;
    /// <summary>The open scene's size, grid, CRS and band metadata.</summary>
    public RasterInfo SceneInfo => _source.Info;

    /// <summary>
    /// Opens what the plan's tiles need: the scene, the ROI, and the endmembers or the model (refused unless its
    /// SHA-256 is the plan's: a tile must never be computed with other parameters than its neighbours).
    /// </summary>
    public static TileProcessor Open(UnmixPlan plan, CancellationToken cancel = default) => Open(plan, ScenePlanner.OpenInput(plan.Options), cancel);

    /// <summary>
    /// As <see cref="Open(UnmixPlan, CancellationToken)"/> with the scene already open (the one the plan was made
    /// from: its decompressed blocks are still in GDAL's cache). The processor owns it from here, also on failure.
    /// </summary>
    public static TileProcessor Open(UnmixPlan plan, RasterSource source, CancellationToken cancel = default)
    {
        var o = plan.Options;
        try
        {
            var info = source.Info;
            if (!new Window(0, 0, info.Width, info.Height).Contains(plan.Area) || plan.Bands.Any(b => b < 0 || b >= info.BandCount))
                throw new RasterDataException(o.Scene.Input, $"does not match its plan ({info.Width}x{info.Height}, {info.BandCount} bands): the file changed after planning");
            var roi = o.Scene.Roi is null ? null : RegionOfInterest.Load(o.Scene.Roi, info, o.Scene.RoiSelection, cancel);
            var unmixer = UnmixMethods.CreateUnmixer(plan, o.Execution.IoOnly ? PlanArtifacts.None : PlanArtifacts.Load(plan), cancel);
            return new TileProcessor(plan, source, roi, unmixer, ownsSource: true);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Pixels per strip when tiles are read a few rows at a time. Pixel-interleaved: 256 spectra of 224 bands are
    /// 229 KB, cache-sized. Band-sequential: 4096 pixels, so that a band's run in a tiled file (the strip's rows of a
    /// block) is 16 KB or more per read.
    /// </summary>
    public static int StripPixels(BufferLayout layout) => layout == BufferLayout.PixelInterleaved ? 256 : 4096;

    /// <summary>Rows per strip of a tile <paramref name="width"/> pixels wide (at least one).</summary>
    public static int StripRows(BufferLayout layout, int width) => Math.Max(1, StripPixels(layout) / width);

    /// <summary>
    /// Tiles are read in the file's own layout when the unmixer takes it (no transposition), otherwise band-sequential.
    /// </summary>
    private BufferLayout Layout =>
        _source.NativeLayout == BufferLayout.PixelInterleaved && (_unmixer?.TakesPixelInterleaved ?? true) ? BufferLayout.PixelInterleaved : BufferLayout.BandSequential;

    /// <summary>
    /// Tiles read from the file itself go a few rows at a time into a small buffer, and are solved while it is in
    /// cache: each pixel's result depends on the pixel alone, and a tile-sized buffer costs a page fault per 4 KB to
    /// fill (measured: ENVI BSQ 1000 x 1000 x 224, fcls, whole tiles 2.3-2.4 s). Tiles read through GDAL, and
    /// tiles for the deep model, are read whole (GDAL's block cache serves whole blocks best).
    /// </summary>
    private bool Strips => _source.ReadsFileDirectly && (_unmixer?.TakesPixelInterleaved ?? true);

    /// <summary>A new set of buffers for one thread (input, valid flags, output of the largest tile), reused from tile to tile; never shared between threads.</summary>
    public Workspace CreateWorkspace()
    {
        var tilePixels = Grid.TileWidth * Grid.TileHeight;
        // Strips hold whole rows: at least one row of the widest tile.
        var input = Strips ? Math.Max(StripPixels(Layout), Grid.TileWidth) : tilePixels;
        return new(Plan.Bands.Length * input, Plan.Endmembers.Count, tilePixels, _unmixer?.CreateWorker());
    }

    /// <summary>
    /// Unmixes tile <paramref name="index"/> of <see cref="Grid"/> into <see cref="Workspace.Output"/> (band-sequential,
    /// abundances then residual, nodata outside the valid pixels). Returns the number of valid pixels.
    /// The tile is read in <see cref="Layout"/>, in strips of whole rows where <see cref="Strips"/> says so.
    /// </summary>
    public int Process(int index, Workspace ws)
    {
        var w = Grid[index].Window;
        var n = (int)w.Area;
        ws.Window = w;
        var inside = ws.Inside.AsSpan(0, n);
        var any = true;
        if (_roi is not null)
        {
            // The polygon mask is rasterised once; tiles it does not reach are never read.
            inside.Fill(1);
            any = _roi.Mask(w, inside) > 0;
        }
        var count = 0;
        if (any && Strips)
        {
            var rows = StripRows(Layout, w.Width);
            for (var r = 0; r < w.Height; r += rows)
            {
                var strip = new Window(w.ColOff, w.RowOff + r, w.Width, Math.Min(rows, w.Height - r));
                count += ProcessPixels(strip, r * w.Width, n, ws);
            }
        }
        else if (any) count = ProcessPixels(w, 0, n, ws);
        if (count == 0) ws.Buffer.AsSpan(0, OutputBands * n).Fill(Plan.Options.Outputs.OutputNoData);
        return count;
    }

    /// <summary>Reads and unmixes <paramref name="part"/> of the tile, whose pixels start at <paramref name="offset"/> of its <paramref name="n"/>.</summary>
    private int ProcessPixels(Window part, int offset, int n, Workspace ws)
    {
        var o = Plan.Options;
        int bands = Plan.Bands.Length, p = Plan.Endmembers.Count, m = (int)part.Area;
        var layout = Layout;
        var valid = ws.Valid.AsSpan(offset, m);
        var y = ws.Y.AsSpan(0, bands * m);
        var count = _source.Read(part, Plan.Bands, y, valid, layout);
        if (_roi is not null)
        {
            var inside = ws.Inside.AsSpan(offset, m);
            count = 0;
            for (var k = 0; k < m; k++) count += valid[k] &= inside[k];
        }
        count -= PixelScreen.Apply(new PixelScreen.ReadPixels { Y = y, Layout = layout, Pixels = m, Bands = bands, Valid = valid }, Plan.Screen is { Reflectance: true }, (float)o.Scene.InputScale);
        if (o.Scene.InputScale != 1)
            foreach (ref var v in y) v = (float)(v * o.Scene.InputScale);
        var output = ws.Buffer.AsSpan(0, (p + 1) * n);
        if (count == 0)
        {
            // Nothing valid here (nodata, outside the polygon): no solve.
            for (var b = 0; b <= p; b++) output.Slice(b * n + offset, m).Fill(o.Outputs.OutputNoData);
            return 0;
        }
        if (_unmixer is not null)
        {
            var t = new TileBuffers { Y = y, Pixels = m, Valid = valid, Abundances = output[offset..], Stride = n, Residual = output.Slice(p * n + offset, m), NoData = o.Outputs.OutputNoData };
            ws.Worker!.Solve(t, layout, part);
            if (_signalWeights is not null) ToSignalFractions(t, _signalWeights);
        }
        else
            // The I/O floor: the input's first bands stand in for the abundances.
            for (var b = 0; b <= p; b++)
            {
                var band = Math.Min(b, bands - 1);
                for (var k = 0; k < m; k++)
                    output[b * n + offset + k] = valid[k] == 0 ? o.Outputs.OutputNoData
                        : layout == BufferLayout.PixelInterleaved ? y[k * bands + band] : y[band * m + k];
            }
        return count;
    }

    /// <summary>Closes the scene (a processor from <see cref="Open(UnmixPlan, CancellationToken)"/> owns it).</summary>
    public void Dispose()
    {
        if (_ownsSource) _source.Dispose();
    }

    /// <summary>One thread's buffers, reused from tile to tile.</summary>
    public sealed class Workspace
    {
        internal Workspace(int inputSamples, int p, int maxPixels, ITileWorker? worker)
        {
            Y = new float[inputSamples];
            Valid = new byte[maxPixels];
            Inside = new byte[maxPixels];
            Buffer = new float[(p + 1) * maxPixels];
            Worker = worker;
            Bands = p + 1;
        }

        internal float[] Y { get; }
        internal byte[] Valid { get; }
        internal byte[] Inside { get; }
        internal float[] Buffer { get; }
        internal ITileWorker? Worker { get; }
        private int Bands { get; }
        /// <summary>The last processed tile's window (scene coordinates).</summary>
        public Window Window { get; internal set; }
        /// <summary>The last processed tile's output: bands x pixels, band-sequential.</summary>
        public ReadOnlySpan<float> Output => Buffer.AsSpan(0, (int)(Bands * Window.Area));
    }
}
