using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Unmixes pixels with the shared, immutable model or endmember set.</summary>
internal interface ITileUnmixer
{
    /// <summary>
    /// Whether <see cref="Solve"/> takes pixel-interleaved samples and any part of a tile (a few rows); otherwise it
    /// takes whole band-sequential tiles.
    /// </summary>
    bool TakesPixelInterleaved { get; }

    /// <summary>Per-worker scratch state, created once per worker.</summary>
    object CreateState();

    /// <param name="y">n pixels in <paramref name="layout"/>.</param>
    /// <param name="abundances">Endmember j's value of pixel k goes to [j * <paramref name="stride"/> + k].</param>
    /// <param name="window">The pixels' window in scene coordinates.</param>
    void Solve(ReadOnlySpan<float> y, BufferLayout layout, int n, ReadOnlySpan<byte> valid, Span<float> abundances, int stride, Span<float> residual, float noData, Window window, object state);
}

/// <summary>The linear methods: one pass over each pixel's spectrum, in either layout (the same bits in both).</summary>
internal sealed class LinearTileUnmixer(AbundanceSolver solver) : ITileUnmixer
{
    public bool TakesPixelInterleaved => true;

    public object CreateState() => new TileScratch();

    public void Solve(ReadOnlySpan<float> y, BufferLayout layout, int n, ReadOnlySpan<byte> valid, Span<float> abundances, int stride, Span<float> residual, float noData, Window window, object state)
    {
        if (layout == BufferLayout.PixelInterleaved)
            solver.SolvePixels(y, n, valid, abundances, stride, residual, noData, (TileScratch)state);
        else
            solver.SolveTile(y, n, valid, abundances, residual, noData, (TileScratch)state, abundanceStride: stride);
    }
}

/// <summary>
/// The deep model per tile. When the fit covered every valid pixel of the area, those pixels keep the fitted
/// abundances (the model's reconstruction gives their residual); otherwise each pixel is solved with the model.
/// Either way a pixel's result depends on the pixel alone, never on the tile it falls in.
/// </summary>
/// <param name="cancel">Stops a tile between the model's iterations (a model may ask for thousands per pixel).</param>
/// <param name="fitted">The exhaustive fit's pixels (scene positions) and abundances (P x pixels), or null.</param>
internal sealed class MtlTileUnmixer(MtlModel model, (long[] Positions, float[] Abundances)? fitted, int sceneWidth, CancellationToken cancel) : ITileUnmixer
{
    private readonly float[]? _fitted = fitted?.Abundances;
    private readonly Dictionary<long, int>? _fittedIndex = fitted?.Positions.Select((pos, i) => (pos, i)).ToDictionary(t => t.pos, t => t.i);

    private sealed class State(MtlModel m)
    {
        public MtlModel.Workspace Workspace { get; } = m.CreateWorkspace();
        public float[] Initial { get; set; } = [];
    }

    public bool TakesPixelInterleaved => false;

    public object CreateState() => new State(model);

    public void Solve(ReadOnlySpan<float> y, BufferLayout layout, int n, ReadOnlySpan<byte> valid, Span<float> abundances, int stride, Span<float> residual, float noData, Window window, object state)
    {
        if (layout != BufferLayout.BandSequential || stride != n) throw new ArgumentException("the model solves whole band-sequential tiles");
        var s = (State)state;
        if (_fitted is null || _fittedIndex is null)
        {
            model.Apply(y, n, valid, abundances, residual, noData, s.Workspace, cancel: cancel);
            return;
        }
        var p = model.Count;
        if (s.Initial.Length < p * n) s.Initial = new float[p * n];
        var fitPixels = _fitted.Length / p;
        for (var k = 0; k < n; k++)
        {
            var pos = (long)(window.RowOff + k / window.Width) * sceneWidth + window.ColOff + k % window.Width;
            var found = _fittedIndex.TryGetValue(pos, out var col);
            if (!found && valid[k] != 0) throw new InvalidOperationException($"pixel {pos} is valid but was not in the exhaustive fit");
            for (var j = 0; j < p; j++) s.Initial[j * n + k] = found ? _fitted[j * fitPixels + col] : 1f / p;
        }
        model.Apply(y, n, valid, abundances, residual, noData, s.Workspace, initial: s.Initial.AsSpan(0, p * n), iterations: 0);
    }
}
