using System.Diagnostics;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>
/// The ground-truth-free test that decides whether the fitted network is kept (issue 19, item 2). A network lowers the
/// held-out reconstruction error on linear scenes too, by re-mixing imperfect endmembers linearly, and that moves the
/// abundances away from those of the endmembers the run reports (on the sample scene: aRMSE 0.50 against FCLS's 0.44).
/// So the network must beat the best linear re-mix of the endmembers (W = Y Aᵀ(AAᵀ)⁻¹ from the linear start's
/// abundances, no network) on the same held-out pixels: by at least <see cref="MinGain"/> of the re-mix's error, and
/// significantly (a paired one-sided test on their squared residuals, z below <see cref="Threshold"/>; with a thousand
/// held-out pixels the test alone detects gains of a few parts in ten thousand, which move nothing a user would see);
/// otherwise the deep step returns its linear start.
/// </summary>
/// <param name="DeepError">Held-out mean squared residual of the chosen model (data units).</param>
/// <param name="LinearError">The same for the linear re-mix.</param>
/// <param name="Z">Mean per-pixel difference (deep − linear) over its standard error.</param>
/// <param name="Pixels">Held-out pixels compared.</param>
/// <param name="Kept">Whether the network was kept.</param>
/// <param name="StoppedAt">The epoch at which the fit stopped because the network had not gained <see cref="MinGain"/> by then (<see cref="MtlOptions.GainCheckEpoch"/>), or 0.</param>
public sealed record NonlinearityTest(double DeepError, double LinearError, double Z, int Pixels, bool Kept, int StoppedAt = 0)
{
    /// <summary>
    /// Of a kept network, the held-out pixels that pass the pixel test (<see cref="MtlModel.NetworkGain"/>) and so
    /// get its solution; the others keep their linear start. Null when the network was not kept or the test is off
    /// (<see cref="MtlOptions.PixelTest"/>).
    /// </summary>
    public int? NetworkPixels { get; init; }

    /// <summary>The z below which the network is kept: a one-sided test at about the 2% level.</summary>
    public const double Threshold = -2;
    /// <summary>The smallest relative gain over the linear re-mix that keeps the network (1%).</summary>
    public const double MinGain = 0.01;

    /// <summary>The decision and its reason, one line.</summary>
    public string Reason => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{(Kept ? "network kept" : "network not kept, linear start returned")}: held-out error {DeepError / LinearError:F3}x that of a linear re-mix of the endmembers ({Pixels} pixels, z = {Z:F1}; kept when z < {Threshold:F0} and the error is {MinGain * 100:F0}% lower or more){(StoppedAt > 0 ? $"; the fit stopped at epoch {StoppedAt}, not {MinGain * 100:F0}% lower by then" : "")}{(NetworkPixels is { } k ? $"; per pixel, the network's solution where it removes at least {MtlModel.NetworkGain * 100:F0}% of the linear start's squared residual ({k} of {Pixels} held-out pixels, {100.0 * k / Math.Max(Pixels, 1):F0}%), the linear start elsewhere" : "")}");
}

/// <summary>
/// The outcome of a fit: the shared model and how training went. The fit pixels' abundances are the model applied to
/// them, as to any other pixel: the fit's own abundance parameters at the chosen epoch are an early-stopped iRprop+
/// state, not that model's solution (on the sample scene they scored aRMSE 0.76 where the model applied gives 0.50
/// and FCLS 0.44), and a pixel's answer must not depend on whether it was in the fit.
/// </summary>
/// <param name="Model">The fitted model, to apply to any pixel.</param>
/// <param name="Pixels">Number of pixels given to the fit (N), held-out ones included.</param>
/// <param name="LossHistory">The training loss (normalised units) at each epoch.</param>
/// <param name="Epochs">Epochs run before stopping.</param>
/// <param name="Seconds">Wall-clock time of the fit.</param>
/// <param name="Gflops">Floating-point work of the loss and gradient evaluations, in 10⁹ operations.</param>
/// <param name="ValidationHistory">Held-out reconstruction error (mean squared, data units) at each check.</param>
/// <param name="Test">Whether the network was kept, and why; null when it was not tested (no held-out pixels, no network, or the test turned off).</param>
public sealed record MtlFit(MtlModel Model, int Pixels, IReadOnlyList<double> LossHistory, int Epochs, double Seconds, double Gflops,
    IReadOnlyList<double> ValidationHistory, NonlinearityTest? Test = null)
{
    /// <summary>The training loss at the first epoch, at the FCLS starting point (normalised units).</summary>
    public double InitialLoss => LossHistory[0];
    /// <summary>The lowest training loss of any epoch (normalised units).</summary>
    public double FinalLoss => LossHistory.Min();
}

/// <summary>
/// Fits the two-branch model on a set of pixels with full-batch iRprop+, starting from given endmembers and their
/// FCLS abundances (so the model starts exactly at the linear solution), projecting after every step. A tenth of
/// the pixels is held out: every few epochs the current mixing model is applied to them, and the parameters that
/// reconstruct them best are kept; training stops when that has not improved for <see cref="MtlOptions.Patience"/>
/// epochs (without held-out pixels: on the training loss's relative improvement).
/// </summary>
internal static class MtlTrainer
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

        // Held-out pixels (every k-th) decide when to stop: a mixing model that only fits the training pixels' noise
        // does not reconstruct unseen pixels better.
        var holdOut = options.ValidationFraction > 0 && pixels * options.ValidationFraction >= 20
            ? Enumerable.Range(0, pixels).Where(i => i % (int)Math.Round(1 / options.ValidationFraction) == 0).ToArray()
            : [];
        var held = new bool[pixels];
        foreach (var i in holdOut) held[i] = true;
        var train = Enumerable.Range(0, pixels).Where(i => !held[i]).ToArray();
        var n = train.Length;
        // The training pixels as floats: first in data units (for FCLS), then normalised in place. (Gathered straight
        // from y: a double copy of them was 16 MB of fresh pages for nothing.)
        var yf = FloatColumns(y, bands, pixels, train);
        var yHeld = FloatColumns(y, bands, pixels, holdOut);

        // Normalise: the model works on data with maximum 1; endmembers come back in data units.
        double max = 0;
        foreach (var v in y) max = Math.Max(max, Math.Abs(v));
        var scale = max > 0 ? max : 1;
        var heldOut = (Scale: scale, Initial: initial, Y: yHeld, Count: holdOut.Length);

        // A0 = FCLS(Y, E0).
        var a0 = new float[p * n];
        new AbundanceSolver(initial, LinearMethod.Fcls).SolveTile(TileBuffers.AllValid(yf, n, p) with { Abundances = a0 }, new TileScratch());
        for (var b = 0; b < bands; b++)
            for (var k = 0; k < n; k++) yf[b * n + k] = (float)(y[b * pixels + train[k]] / scale);
        var e0 = Array.ConvertAll(initial.E, v => (float)(v / scale));

        var net = new MtlNetwork(yf, bands, n, p, options, blas);
        var theta = net.Initialise(e0, a0);
        var start = (float[])theta.Clone();
        var grad = new float[net.Count];
        var best = (float[])theta.Clone();
        var bestScore = double.PositiveInfinity;
        var sinceBest = 0;
        var history = new List<double>();
        var validation = new List<double>();
        var rprop = new Irprop(net.Count, net.Groups());
        var epochs = 0;
        // The linear re-mix the network must beat (NonlinearityTest): known from the start, so a fit that cannot beat
        // it stops at the gain check instead of running on.
        var linear = options.RequireNonlinearGain && options.Nonlinear && options.ColumnBranch && holdOut.Length > 0
            ? HeldOutResiduals(net, LinearRemix(net, start, yf, a0), heldOut).Residuals
            : null;
        var linearError = linear is null ? double.NaN : MeanSquare(linear);
        // The held-out residuals of the best parameters, kept for the test (they need not be computed again).
        float[]? bestResiduals = null;
        var bestPassing = 0;
        var stoppedAt = 0;
        for (var epoch = 0; epoch < options.MaxEpochs; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            var loss = net.Evaluate(theta, grad);
            history.Add(loss);
            epochs = epoch + 1;
            epochCallback?.Invoke(epoch, loss);
            if (holdOut.Length > 0)
            {
                if (epoch % options.ValidationEvery == 0)
                {
                    var (residuals, passing) = HeldOutResiduals(net, theta, heldOut);
                    var score = MeanSquare(residuals);
                    validation.Add(score);
                    if (score < bestScore) { bestScore = score; theta.CopyTo(best, 0); bestResiduals = residuals; bestPassing = passing; sinceBest = 0; }
                    else if (++sinceBest * options.ValidationEvery >= options.Patience) break;
                    if (linear is not null && options.GainCheckEpoch > 0 && epoch >= options.GainCheckEpoch && !(bestScore < (1 - NonlinearityTest.MinGain) * linearError))
                    {
                        stoppedAt = epoch;
                        break;
                    }
                }
            }
            else
            {
                if (loss < bestScore) { bestScore = loss; theta.CopyTo(best, 0); }
                if (epoch >= options.Patience && (history[epoch - options.Patience] - loss) / history[epoch - options.Patience] < options.Tolerance) break;
            }
            rprop.Update(theta, grad, loss);
            net.Project(theta);
        }
        NonlinearityTest? test = null;
        if (linear is not null)
        {
            if (bestResiduals is null) (bestResiduals, bestPassing) = HeldOutResiduals(net, best, heldOut);
            test = TestNonlinearity(bestResiduals, linear);
            // The pixel count only of a network that is kept and applied with the test.
            test = test with { StoppedAt = stoppedAt, NetworkPixels = test.Kept && options.PixelTest ? bestPassing : null };
            if (!test.Kept) start.CopyTo(best, 0);
        }
        var model = MtlModel.FromNetwork(net, best, scale, initial.Names, initial.Wavelengths);

        return new MtlFit(model, pixels, history, epochs, sw.Elapsed.TotalSeconds, net.FlopsPerEvaluation * epochs / 1e9, validation, test);
    }

    private static float[] FloatColumns(ReadOnlySpan<double> y, int bands, int pixels, int[] columns)
    {
        var r = new float[bands * columns.Length];
        for (var b = 0; b < bands; b++)
            for (var k = 0; k < columns.Length; k++) r[b * columns.Length + k] = (float)y[b * pixels + columns[k]];
        return r;
    }

    /// <summary>Mean squared reconstruction error from the held-out pixels' RMSEs (<see cref="HeldOutResiduals"/>).</summary>
    private static double MeanSquare(float[] residuals)
    {
        double s = 0;
        foreach (var r in residuals) s += (double)r * r;
        return s / residuals.Length;
    }

    /// <summary>
    /// Each held-out pixel's reconstruction RMSE under the mixing model of <paramref name="theta"/>: the model itself,
    /// on every pixel (no pixel test), so that the checks judge the network and not the linear start it falls back on;
    /// and how many of the pixels would pass the pixel test (<see cref="MtlModel.NetworkGain"/>), which the same apply counts.
    /// </summary>
    private static (float[] Residuals, int Passing) HeldOutResiduals(MtlNetwork net, float[] theta, (double Scale, EndmemberSet Initial, float[] Y, int Count) held)
    {
        var model = MtlModel.FromNetwork(net, theta, held.Scale, held.Initial.Names, held.Initial.Wavelengths);
        var residual = new float[held.Count];
        var passing = model.Apply(TileBuffers.AllValid(held.Y, held.Count, model.Count) with { Residual = residual }, model.CreateWorkspace(), new MtlModel.ApplyStart { EveryPixel = true });
        return (residual, passing);
    }

    /// <summary>
    /// The starting parameters (network output zero) with the best linear re-mix of the endmembers as W_c: W_c =
    /// Y Aᵀ(AAᵀ)⁻¹ for the training pixels Y and their linear-start abundances A, normalised units. Plain loops in a
    /// fixed order: the same bits anywhere.
    /// </summary>
    private static float[] LinearRemix(MtlNetwork net, float[] start, float[] y, float[] a)
    {
        int l = net.L, p = net.P, n = net.N;
        var aat = new double[p * p];
        var yat = new double[l * p];
        for (var j = 0; j < p; j++)
            for (var k = 0; k <= j; k++)
            {
                double s = 0;
                for (var i = 0; i < n; i++) s += (double)a[j * n + i] * a[k * n + i];
                aat[j * p + k] = aat[k * p + j] = s;
            }
        for (var b = 0; b < l; b++)
            for (var j = 0; j < p; j++)
            {
                double s = 0;
                for (var i = 0; i < n; i++) s += (double)y[b * n + i] * a[j * n + i];
                yat[b * p + j] = s;
            }
        // W = Y Aᵀ (AAᵀ + εI)⁻¹, as (AAᵀ + εI) Wᵀ = A Yᵀ; ε (1e-9 of the mean diagonal) gives an endmember no pixel
        // uses a zero column instead of a singular system.
        double trace = 0;
        for (var j = 0; j < p; j++) trace += aat[j * p + j];
        for (var j = 0; j < p; j++) aat[j * p + j] += 1e-9 * trace / p + double.Epsilon;
        var wt = Dense.ToMatrix(aat, p, p).Cholesky().Solve(Dense.ToMatrix(yat, l, p).Transpose());
        var linear = (float[])start.Clone();
        for (var b = 0; b < l; b++)
            for (var j = 0; j < p; j++) linear[net.WcOffset + b * p + j] = (float)wt[j, b];
        return linear;
    }

    /// <summary>
    /// <see cref="NonlinearityTest"/>: the chosen model's held-out residuals against the linear re-mix's
    /// (<see cref="LinearRemix"/>) on the same pixels.
    /// </summary>
    private static NonlinearityTest TestNonlinearity(float[] deep, float[] lin)
    {
        double sd = 0, sl = 0, sum = 0, sum2 = 0;
        for (var i = 0; i < deep.Length; i++)
        {
            double d2 = (double)deep[i] * deep[i], l2 = (double)lin[i] * lin[i], d = d2 - l2;
            sd += d2; sl += l2; sum += d; sum2 += d * d;
        }
        var m = deep.Length;
        var mean = sum / m;
        var se = Math.Sqrt(Math.Max(sum2 / m - mean * mean, 0) / Math.Max(m - 1, 1));
        var z = se > 0 ? mean / se : mean < 0 ? double.NegativeInfinity : 0;
        return new NonlinearityTest(sd / m, sl / m, z, m, z < NonlinearityTest.Threshold && sd < (1 - NonlinearityTest.MinGain) * sl);
    }
}
