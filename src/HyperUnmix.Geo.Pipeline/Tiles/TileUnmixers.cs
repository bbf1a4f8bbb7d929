using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// Unmixes pixels with the shared, immutable model or endmember set. A tile processor asks it once per thread for a
/// <see cref="ITileWorker"/> that holds that thread's scratch.
/// </summary>
internal interface ITileUnmixer
{
    /// <summary>
    /// Whether a worker takes pixel-interleaved samples and any part of a tile (a few rows); otherwise it takes whole
    /// band-sequential tiles.
    /// </summary>
    bool TakesPixelInterleaved { get; }

    /// <summary>A worker for one thread, with its own scratch state.</summary>
    ITileWorker CreateWorker();
}

/// <summary>One thread's unmixer: solves the pixels of <see cref="TileBuffers"/> read in a layout, at a window.</summary>
internal interface ITileWorker
{
    /// <param name="t">The pixels (in <paramref name="layout"/>) and the outputs: endmember j of pixel k goes to [j * stride + k].</param>
    /// <param name="window">The pixels' window in scene coordinates.</param>
    void Solve(in TileBuffers t, BufferLayout layout, Window window);
}

/// <summary>An unmixer whose per-thread scratch is a <typeparamref name="TState"/>: typed, so no call casts it.</summary>
internal abstract class TileUnmixer<TState> : ITileUnmixer
{
    public abstract bool TakesPixelInterleaved { get; }

    protected abstract TState CreateState();

    protected abstract void Solve(in TileBuffers t, BufferLayout layout, Window window, TState state);

    public ITileWorker CreateWorker() => new Worker(this, CreateState());

    private sealed class Worker(TileUnmixer<TState> unmixer, TState state) : ITileWorker
    {
        public void Solve(in TileBuffers t, BufferLayout layout, Window window) => unmixer.Solve(t, layout, window, state);
    }
}

/// <summary>The linear methods: one pass over each pixel's spectrum, in either layout (the same bits in both).</summary>
internal sealed class LinearTileUnmixer(AbundanceSolver solver) : TileUnmixer<TileScratch>
{
    public override bool TakesPixelInterleaved => true;

    protected override TileScratch CreateState() => new();

    protected override void Solve(in TileBuffers t, BufferLayout layout, Window window, TileScratch state)
    {
        if (layout == BufferLayout.PixelInterleaved) solver.SolvePixels(t, state);
        else solver.SolveTile(t, state);
    }
}

/// <summary>
/// The deep model per tile. When the fit covered every valid pixel of the area, those pixels keep the fitted
/// abundances (the model's reconstruction gives their residual); otherwise each pixel is solved with the model.
/// Either way a pixel's result depends on the pixel alone, never on the tile it falls in.
/// </summary>
/// <param name="cancel">Stops a tile between the model's iterations (a model may ask for thousands per pixel).</param>
/// <param name="fitted">The exhaustive fit's pixels (scene positions) and abundances (P x pixels), or null.</param>
internal sealed class MtlTileUnmixer(MtlModel model, (long[] Positions, float[] Abundances)? fitted, int sceneWidth, CancellationToken cancel)
    : TileUnmixer<MtlTileUnmixer.State>
{
    private readonly float[]? _fitted = fitted?.Abundances;
    private readonly Dictionary<long, int>? _fittedIndex = fitted?.Positions.Select((pos, i) => (pos, i)).ToDictionary(t => t.pos, t => t.i);

    internal sealed class State(MtlModel m)
    {
        public MtlModel.Workspace Workspace { get; } = m.CreateWorkspace();
        public float[] Initial { get; set; } = [];
    }

    public override bool TakesPixelInterleaved => false;

    protected override State CreateState() => new(model);

    protected override void Solve(in TileBuffers t, BufferLayout layout, Window window, State s)
    {
        var n = t.Pixels;
        var valid = t.Valid;
        if (layout != BufferLayout.BandSequential || t.AbundanceStride != n) throw new ArgumentException("the model solves whole band-sequential tiles");
        if (_fitted is null || _fittedIndex is null)
        {
            model.Apply(t, s.Workspace, new MtlModel.ApplyStart { Cancel = cancel });
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
        model.Apply(t, s.Workspace, new MtlModel.ApplyStart { Initial = s.Initial.AsSpan(0, p * n), Iterations = 0 });
    }
}
