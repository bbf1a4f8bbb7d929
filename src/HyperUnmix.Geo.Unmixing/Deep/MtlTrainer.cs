using System.Diagnostics;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>The outcome of a fit: the shared model, the sample's abundances and how training went.</summary>
public sealed record MtlFit(MtlModel Model, float[] Abundances, int Pixels, IReadOnlyList<double> LossHistory, int Epochs, double Seconds, double Gflops)
{
    public double InitialLoss => LossHistory[0];
    public double FinalLoss => LossHistory.Min();
}

/// <summary>
/// Fits the two-branch model on a set of pixels with full-batch iRprop+, starting from given endmembers and their
/// FCLS abundances (so the model starts exactly at the linear solution), projecting after every step, stopping
/// on a relative-improvement rule, and keeping the best parameters seen.
/// </summary>
public static class MtlTrainer
{
    /// <param name="y">L x N row-major pixels in data units.</param>
    /// <param name="initial">Starting endmembers (VCA or the user's), in data units.</param>
    public static MtlFit Fit(ReadOnlySpan<double> y, int bands, int pixels, EndmemberSet initial, MtlOptions options, IBlas? blas = null,
        Action<int, double>? epochCallback = null, CancellationToken cancel = default)
    {
        blas ??= Blas.Default;
        options.Validate();
        if (initial.Bands != bands) throw new ArgumentException($"endmembers have {initial.Bands} bands, the data {bands}");
        if (pixels < 1) throw new ArgumentException("no pixels to fit");
        var sw = Stopwatch.StartNew();
        var p = initial.Count;

        // Normalise: the model works on data with maximum 1; endmembers come back in data units.
        double max = 0;
        foreach (var v in y) max = Math.Max(max, Math.Abs(v));
        var scale = max > 0 ? max : 1;
        var yf = new float[bands * pixels];
        for (var i = 0; i < yf.Length; i++) yf[i] = (float)y[i];

        // A0 = FCLS(Y, E0).
        var a0 = new float[p * pixels];
        new AbundanceSolver(initial, LinearMethod.Fcls, blas).SolveTile(yf, pixels, Enumerable.Repeat((byte)1, pixels).ToArray(), a0, new float[pixels], 0f, new TileScratch());
        for (var i = 0; i < yf.Length; i++) yf[i] = (float)(y[i] / scale);
        var e0 = Array.ConvertAll(initial.E, v => (float)(v / scale));

        var net = new MtlNetwork(yf, bands, pixels, p, options, blas);
        var theta = net.Initialise(e0, a0);
        var grad = new float[net.Count];
        var best = (float[])theta.Clone();
        var bestLoss = double.PositiveInfinity;
        var history = new List<double>();
        var rprop = new Irprop(net.Count, net.Groups());
        var epochs = 0;
        for (var epoch = 0; epoch < options.MaxEpochs; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            var loss = net.Evaluate(theta, grad);
            history.Add(loss);
            epochs = epoch + 1;
            epochCallback?.Invoke(epoch, loss);
            if (loss < bestLoss)
            {
                bestLoss = loss;
                theta.CopyTo(best, 0);
            }
            if (epoch >= options.Patience)
            {
                var before = history[epoch - options.Patience];
                if ((before - loss) / before < options.Tolerance) break;
            }
            rprop.Update(theta, grad, loss);
            net.Project(theta);
        }
        var seconds = sw.Elapsed.TotalSeconds;
        var model = MtlModel.FromNetwork(net, best, scale, initial.Names, initial.Wavelengths);
        return new MtlFit(model, best.AsSpan(net.AOffset, p * pixels).ToArray(), pixels, history, epochs, seconds,
            net.FlopsPerEvaluation * epochs / 1e9);
    }
}
