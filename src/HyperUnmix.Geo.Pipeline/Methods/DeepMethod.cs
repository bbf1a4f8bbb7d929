using System.Globalization;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// The deep multi-task model (Mehrdad &amp; Janani): fitted once per scene on a subset of the sample (or given as a
/// model file), then applied to every tile.
/// </summary>
internal sealed class DeepMethod : IUnmixMethod
{
    public string Name => UnmixMethod.Mtl;
    public string Description => "the deep multi-task model (Mehrdad & Janani), fitted on a sample and applied to every tile";
    public string Label => "Deep multi-task (Mehrdad & Janani)";
    /// <summary>The scaled mixing model, chosen by measurement (docs/accuracy-linear.md).</summary>
    public PixelScale DefaultScale => PixelScale.Scale;
    public bool FitsModel => true;

    public string? Parameters(UnmixOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"alpha={o.Method.Mtl.Alpha} beta={o.Method.Mtl.Beta} lambda={o.Method.Mtl.Lambda} epochs<={o.Method.Mtl.MaxEpochs} row={o.Method.Mtl.RowBranch} column={o.Method.Mtl.ColumnBranch} nonlinear={o.Method.Mtl.Nonlinear} pixel_test={o.Method.Mtl.PixelTest}");

    public MethodPlan Plan(MethodPlanning planning)
    {
        var (o, progress, cancel) = (planning.Options, planning.Progress, planning.Cancel);
        if (planning.GivenModel is { } given) return new MethodPlan(given.Endmembers, new PlanArtifacts(given), null);
        progress?.Invoke("fit", 0.04);
        var sample = planning.Sample();
        if (sample.Count == 0) throw new RasterDataException(o.Scene.Input, "has no valid pixel");
        var fitSet = sample.Subset(o.Method.FitPixels);
        var endmembers = o.Method.EffectiveNormalize == PixelScale.L2 ? planning.Endmembers.UnitLength() : planning.Endmembers;
        // With a pixel scale the model is fitted on pixels divided by it (y / s ≈ E a, a on the simplex), and
        // applied the same way; the linear start is then the scaled model's solution.
        var fitY = o.Method.EffectiveNormalize == PixelScale.None ? fitSet.Y : DivideByScale(fitSet, endmembers, o.Method.EffectiveNormalize);
        var fit = MtlTrainer.Fit(fitY, fitSet.Bands, fitSet.Count, endmembers, o.Method.Mtl with { Seed = o.Seed },
            epochCallback: (epoch, _) => progress?.Invoke("fit", 0.04 + 0.5 * epoch / o.Method.Mtl.MaxEpochs), cancel: cancel);
        var scaled = o.Method.EffectiveNormalize == PixelScale.None ? fit.Model : fit.Model.WithPixelScale(o.Method.EffectiveNormalize);
        // The model applied is the model file's: what a run writes to .model.json (or a cluster's workers read)
        // reproduces its tiles exactly.
        var model = MtlModel.FromBytes(scaled.ToBytes(), "(fitted model)");
        fit = fit with { Model = model };
        // Every pixel, in the fit or not, gets the model applied (MtlFit says why).
        planning.Lap("fit");
        return new MethodPlan(model.Endmembers, new PlanArtifacts(model), fit);
    }

    /// <summary>
    /// A linear model (the linear start, when the fit did not keep its network) is its linear solver, bit for bit
    /// (<see cref="MtlModel.IsLinear"/>): its tiles go to the linear methods' unmixer, in either layout, at FCLS's speed.
    /// </summary>
    public ITileUnmixer CreateUnmixer(UnmixPlan plan, PlanArtifacts artifacts, CancellationToken cancel)
    {
        var model = artifacts.Model ?? throw new InvalidOperationException("the deep method's plan has no model");
        return model.LinearSolver is { } linear ? new LinearTileUnmixer(linear) : new MtlTileUnmixer(model, everyPixel: !plan.Options.Method.Mtl.PixelTest, cancel);
    }

    /// <summary>Each sample pixel divided by its scale under <paramref name="scale"/> (zero-scale pixels stay zero).</summary>
    private static double[] DivideByScale(PixelSample s, EndmemberSet e, PixelScale scale)
    {
        int l = s.Bands, n = s.Count;
        var yf = Array.ConvertAll(s.Y, v => (float)v);
        var scales = new float[n];
        new AbundanceSolver(e, LinearMethod.Fcls, scale: scale).SolveTile(TileBuffers.AllValid(yf, n, e.Count) with { Scales = scales }, new TileScratch());
        var y = new double[l * n];
        for (var b = 0; b < l; b++)
            for (var i = 0; i < n; i++) y[b * n + i] = scales[i] > 0 ? s.Y[b * n + i] / scales[i] : 0;
        return y;
    }
}
