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

/// <summary>The deep model per tile: each pixel solved with the model, so its result depends on the pixel alone.</summary>
/// <param name="everyPixel">Every pixel the network's solution, without the pixel test (<see cref="MtlModel.NetworkGain"/>).</param>
/// <param name="cancel">Stops a tile between the model's iterations (a model may ask for thousands per pixel).</param>
internal sealed class MtlTileUnmixer(MtlModel model, bool everyPixel, CancellationToken cancel) : TileUnmixer<MtlModel.Workspace>
{
    public override bool TakesPixelInterleaved => false;

    protected override MtlModel.Workspace CreateState() => model.CreateWorkspace();

    protected override void Solve(in TileBuffers t, BufferLayout layout, Window window, MtlModel.Workspace ws)
    {
        if (layout != BufferLayout.BandSequential || t.AbundanceStride != t.Pixels) throw new ArgumentException("the model solves whole band-sequential tiles");
        model.Apply(t, ws, new MtlModel.ApplyStart { Cancel = cancel, EveryPixel = everyPixel });
    }
}
