using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>A model file that cannot be used (wrong format, wrong bands...). Names the file.</summary>
/// <param name="path">The model file at fault.</param>
/// <param name="problem">What is wrong with it, in one line; the message is "path: problem".</param>
public sealed class MtlModelException(string path, string problem) : HyperUnmixException($"{path}: {problem}")
{
    /// <summary>BadInput (exit code 3).</summary>
    public override ErrorKind Kind => ErrorKind.BadInput;
}

/// <summary>
/// The shared, immutable part of a fitted deep model: endmembers E, the column branch a → W_c a + g_c(a) (a learned
/// nonlinear mixing model that does not depend on the pixel), the data scale and α. Applying it to any pixel solves
/// min over the simplex of ‖y − (W_c a + g_c(a))‖² + α‖y − E a‖² (normalised units), warm-started from FCLS.
/// A small serialisable value: fitted once, broadcast to every tile.
/// </summary>
public sealed partial class MtlModel
{
    /// <summary>The model file's "format" value; a file with any other is refused.</summary>
    public const string Format = "hyperunmix-mtl";
    private readonly AbundanceSolver _fcls;
    /// <summary>The model file's "format_version" this version writes and reads; a file with any other is refused.</summary>
    public const int FormatVersion = 1;

    private MtlModel(int bands, int p, float[] e, float[] wc, MlpLayout column, float[] columnTheta, double scale, double alpha,
        string[] names, double[]? wavelengths, int iterations)
    {
        Bands = bands;
        Count = p;
        ENormalised = e;
        Wc = wc;
        ColumnLayout = column;
        ColumnTheta = columnTheta;
        Scale = scale;
        Alpha = alpha;
        Names = names;
        Wavelengths = wavelengths;
        ApplyIterations = iterations;
        var eData = new double[bands * p];
        for (var i = 0; i < eData.Length; i++) eData[i] = e[i] * scale;
        Endmembers = new EndmemberSet(eData, bands, p, names, wavelengths);
        _fcls = new AbundanceSolver(Endmembers, LinearMethod.Fcls);
        // A safe first step for the projected gradient: 1 / Lipschitz constant of the linear part.
        var lip = 2 * (SpectralNormSquared(wc, bands, p) + alpha * SpectralNormSquared(e, bands, p));
        InitialStep = (float)(1 / Math.Max(lip, 1e-12));
        IsLinear = LinearMixing(column, columnTheta, wc, e);
    }

    /// <summary>
    /// Whether the mixing model is E a itself: the network's output layer is all zeros (weights and biases) and
    /// W_c = E, as when a fit returns its linear start. Each pixel's objective is then (1 + α)‖E a − y‖², whose
    /// minimum on the simplex is FCLS's answer (on the scaled pixels for a scaled model), the apply's starting point:
    /// <see cref="Apply"/> returns the linear solver's abundances and residuals, as the FCLS method would.
    /// </summary>
    public bool IsLinear { get; }

    /// <summary>For a linear model (<see cref="IsLinear"/>), the solver whose answer is the model's; null otherwise.</summary>
    internal AbundanceSolver? LinearSolver => IsLinear ? _scaleSolver ?? _fcls : null;

    private static bool LinearMixing(MlpLayout column, float[] theta, float[] wc, float[] e)
    {
        var last = column.Layers - 1;
        int inputs = column.Sizes[last], outputs = column.Sizes[last + 1];
        if (theta.AsSpan(column.WeightOffsets[last], inputs * outputs).ContainsAnyExcept(0f)) return false;
        if (theta.AsSpan(column.BiasOffsets[last], outputs).ContainsAnyExcept(0f)) return false;
        return wc.AsSpan().SequenceEqual(e);
    }

    /// <summary>Number of bands (L) the model was fitted on; pixels must have these bands.</summary>
    public int Bands { get; }
    /// <summary>Number of endmembers (P).</summary>
    public int Count { get; }
    /// <summary>Endmembers in data units.</summary>
    public EndmemberSet Endmembers { get; }
    /// <summary>The endmembers E in normalised units (data / <see cref="Scale"/>): L x P, row-major.</summary>
    public float[] ENormalised { get; }
    /// <summary>The column branch's linear mixing matrix W_c in normalised units: L x P, row-major (equal to E when the column branch was off).</summary>
    public float[] Wc { get; }
    internal MlpLayout ColumnLayout { get; }
    /// <summary>The column MLP's weights and biases, laid out from offset 0.</summary>
    public float[] ColumnTheta { get; }
    /// <summary>The data scale: the largest absolute sample the model was fitted on; normalised units are data / Scale.</summary>
    public double Scale { get; }
    /// <summary>α, the weight of the linear term α‖y − E a‖² in the objective each pixel is solved with.</summary>
    public double Alpha { get; }
    /// <summary>The endmembers' names (P).</summary>
    public string[] Names { get; }
    /// <summary>The bands' wavelengths (L) as the fit's endmembers gave them, or null.</summary>
    public double[]? Wavelengths { get; }
    /// <summary>Projected-gradient iterations per pixel that <see cref="Apply"/> runs unless told otherwise.</summary>
    public int ApplyIterations { get; }
    /// <summary>How pixels were scaled before the fit (and are scaled before applying): none, by their NNLS sum, or by their length.</summary>
    public PixelScale PixelScale { get; private init; }
    private AbundanceSolver? _scaleSolver;

    /// <summary>The same model, for pixels divided by their scale (what it was fitted on).</summary>
    public MtlModel WithPixelScale(PixelScale scale) =>
        new(Bands, Count, ENormalised, Wc, ColumnLayout, ColumnTheta, Scale, Alpha, Names, Wavelengths, ApplyIterations)
        {
            PixelScale = scale,
            _scaleSolver = scale == PixelScale.None ? null : new AbundanceSolver(Endmembers, LinearMethod.Fcls, scale: scale),
        };
    internal float InitialStep { get; }

    internal static MtlModel FromNetwork(MtlNetwork net, float[] theta, double scale, string[] names, double[]? wavelengths)
    {
        var src = net.ColumnLayout;
        var baseOffset = src.WeightOffsets[0];
        var layout = new MlpLayout(src.Sizes, src.WeightOffsets.Select(o => o - baseOffset).ToArray(), src.BiasOffsets.Select(o => o - baseOffset).ToArray());
        var colTheta = theta.AsSpan(baseOffset, net.Count - baseOffset).ToArray();
        if (!net.Options.Nonlinear || !net.Options.ColumnBranch) Array.Clear(colTheta);
        // Without the column branch, the learned mixing model is the NMF's: W_c = E.
        var wc = net.Options.ColumnBranch ? theta.AsSpan(net.WcOffset, net.L * net.P).ToArray() : theta.AsSpan(net.EOffset, net.L * net.P).ToArray();
        return new MtlModel(net.L, net.P, theta.AsSpan(net.EOffset, net.L * net.P).ToArray(), wc, layout, colTheta, scale, net.Options.Alpha,
            names, wavelengths, net.Options.ApplyIterations);
    }

    /// <summary>
    /// Floating-point operations of the matrix products that <see cref="Apply"/> spends on one pixel (multiply and add
    /// counted apart, the linear warm start and re-evaluations after rejected steps not counted): the figure that
    /// benchmarks divide by time to state the apply's GFLOP/s.
    /// </summary>
    public double ApplyFlopsPerPixel(int? iterations = null)
    {
        var r = Subspace;
        var s = r.Layout.Sizes;
        double hidden = 0;
        for (var k = 0; k < r.Layout.Layers - 1; k++) hidden += 2.0 * s[k] * s[k + 1];
        // Useful products of R z (and Rᵀu): the triangle's when R is triangular.
        double reduced = 2.0 * ((r.Triangular ? r.Hidden * (r.Hidden + 1) / 2.0 : (double)r.Rank * r.Hidden) + (double)r.Rank * Count);
        var setup = 2.0 * r.Rank * Bands;
        var final = 2.0 * Bands * (r.Hidden + Count);
        var it = iterations ?? ApplyIterations;
        // Each iteration: the gradient (Rᵀu, back through the hidden layers) and the trial's value (forward, R z).
        return it == 0 ? final : setup + (it + 1) * (hidden + reduced) + it * (reduced + hidden) + final;
    }

    /// <summary>Pixels handled per batch by <see cref="Apply"/>.</summary>
    public const int BatchPixels = 96;

    /// <summary>New buffers for <see cref="Apply"/>, sized for this model and <see cref="BatchPixels"/>: one per thread, reused from tile to tile.</summary>
    public Workspace CreateWorkspace() => new(this, BatchPixels);

    /// <summary>How long <see cref="Apply"/> runs from its linear start (the default: the model's iterations).</summary>
    public readonly ref struct ApplyStart
    {
        /// <summary>Projected-gradient iterations (null: the model's); 0 keeps the start.</summary>
        public int? Iterations { get; init; }
        /// <summary>Checked at every iteration of every batch.</summary>
        public CancellationToken Cancel { get; init; }
        /// <summary>
        /// Give every pixel the network's solution, without the pixel test (<see cref="NetworkGain"/>): the model itself,
        /// as the fit's held-out checks judge it.
        /// </summary>
        public bool EveryPixel { get; init; }
    }

    /// <summary>
    /// The pixel test: a pixel gets the network's solution only where the network's reconstruction removes at least
    /// this share of the squared residual that the linear start leaves (‖r_network‖² ≤ (1 − share) ‖r_linear‖²), and
    /// keeps its linear start (FCLS, or the scaled model's solution) elsewhere. Where the network explains a pixel
    /// little better than the endmembers do, its move is not carried by that pixel's data: on Samson it lowered the
    /// water fraction of water pixels by 0.03 at the same residual (ratio 0.993), which cost 2.2x in aRMSE; with the
    /// test the deep step no longer makes any synthetic scene of `bench deep` worse than its start (docs/accuracy-deep.md).
    /// </summary>
    public const double NetworkGain = 0.5;

    /// <summary>
    /// Abundances (P x N, band-sequential) and the model's reconstruction RMSE (N, data units) for a band-sequential
    /// tile (<see cref="TileBuffers.Y"/> is L x N, data units; the abundance stride must be N). Pixels that are not
    /// valid get the nodata value. Each pixel's result depends on that pixel alone, so tiles and threads do not change it.
    /// A pixel that fails the pixel test (<see cref="NetworkGain"/>) gets its linear start and the linear residual.
    /// </summary>
    /// <returns>
    /// The valid pixels that pass the pixel test: those given the network's solution, unless
    /// <see cref="ApplyStart.EveryPixel"/> gives it to every pixel (0 for a linear model).
    /// </returns>
    /// <exception cref="OperationCanceledException">The start's token was cancelled.</exception>
    public int Apply(in TileBuffers t, Workspace ws, in ApplyStart start = default)
    {
        int n = t.Pixels;
        ReadOnlySpan<float> y = t.Y;
        ReadOnlySpan<byte> valid = t.Valid;
        Span<float> abundances = t.Abundances, residual = t.Residual;
        var noData = t.NoData;
        if (y.Length < Bands * n) throw new ArgumentException($"tile has {y.Length} samples, expected {Bands} x {n}");
        if (t.AbundanceStride != n) throw new ArgumentException("the model writes abundances at a stride of the pixel count");
        if (IsLinear)
        {
            // The answer is the linear solver's, pixel for pixel (see IsLinear): taken from it directly, at its speed.
            LinearSolver!.SolveTile(t, ws.Solver);
            return 0;
        }
        var networkPixels = 0;
        // A batch of m pixels is stored with stride m (features x pixels). The products run in a fixed order per
        // pixel, so a partial last batch gives each pixel the same result as a full one: no padding needed.
        var chunk = ws.Chunk;
        for (var first = 0; first < n; first += ws.Batch)
        {
            var m = ws.Pixels = Math.Min(ws.Batch, n - first);
            for (var l = 0; l < Bands; l++) y.Slice(l * n + first, m).CopyTo(chunk.AsSpan(l * m, m));
            valid.Slice(first, m).CopyTo(ws.Valid);
            var scales = ws.PixelScales;
            if (PixelScale != PixelScale.None)
            {
                // The model was fitted on pixels divided by their scale (their NNLS sum or length): do the same here.
                _scaleSolver!.SolveTile(ws.FclsBuffers(chunk, scales), ws.Solver);
                for (var l = 0; l < Bands; l++)
                {
                    var row = chunk.AsSpan(l * m, m);
                    for (var px = 0; px < m; px++) row[px] = scales[px] > 0 ? row[px] / scales[px] : 0;
                }
                // The scaled solution (a = b / Σb, or FCLS of the unit-length pixel) is the linear start: no second solve.
                for (var j = 0; j < Count; j++)
                    for (var px = 0; px < m; px++) ws.At[j * m + px] = ws.Valid[px] != 0 ? ws.Fcls[j * m + px] : 1f / Count;
            }
            ApplyBatch(ws, started: PixelScale != PixelScale.None, start);
            for (var px = 0; px < m; px++)
            {
                var ok = valid[first + px] != 0;
                var dark = PixelScale != PixelScale.None && !(scales[px] > 0);
                var deep = PixelScale != PixelScale.None ? ws.Residual[px] * scales[px] : ws.Residual[px];
                var lin = ws.LinearResidual[px];
                // The pixel test (NetworkGain): the network's solution where it removes at least that share of the
                // squared residual the linear start leaves; the linear start (abundances and residual) elsewhere.
                var passes = ok && !dark && (double)deep * deep <= (1 - NetworkGain) * ((double)lin * lin);
                if (passes) networkPixels++;
                var network = passes || (ok && !dark && start.EveryPixel);
                var from = network ? ws.At : ws.Fcls;
                for (var j = 0; j < Count; j++) abundances[j * n + first + px] = !ok ? noData : dark ? 1f / Count : from[j * m + px];
                residual[first + px] = !ok ? noData : network || dark ? deep : lin;
            }
        }
        return networkPixels;
    }

    /// <summary>The batch of <see cref="Workspace.Pixels"/> pixels in the workspace's chunk (L x m, data units, or divided by their scale).</summary>
    private void ApplyBatch(Workspace ws, bool started, in ApplyStart start)
    {
        // Every product a pixel's result depends on runs in a fixed order: not OpenBLAS, whose kernels (and so the
        // last bits) change with the CPU, the thread count and the size of the call.
        var blas = ReproducibleBlas.Instance;
        int l = Bands, p = Count, m = ws.Pixels, iterations = start.Iterations ?? ApplyIterations;
        var y = ws.Chunk;
        var r = Subspace;
        if (!started)
        {
            // Warm start: FCLS with the model's endmembers, in data units.
            _fcls.SolveTile(ws.FclsBuffers(y, default), ws.Solver);
            for (var j = 0; j < p; j++)
                for (var px = 0; px < m; px++) ws.At[j * m + px] = ws.Valid[px] != 0 ? ws.Fcls[j * m + px] : 1f / p;
        }
        // The linear start's residual (data units), for the pixel test.
        ws.Residual.AsSpan(0, m).CopyTo(ws.LinearResidual);
        // Everything below is feature-major (features x pixels): every product runs across the pixels, so a pixel's
        // value depends on its own column alone.
        ColumnOps.Scale(ws.Yn.AsSpan(0, l * m), y.AsSpan(0, l * m), (float)(1 / Scale));

        if (iterations > 0)
        {
            // t = C0 − Bᵀ yn, once per pixel.
            var t = ws.T.AsSpan(0, r.Rank * m);
            for (var i = 0; i < r.Rank; i++) t.Slice(i * m, m).Fill(r.C0[i]);
            blas.Gemm(false, false, r.Rank, m, l, -1f, r.Bt, l, ws.Yn, m, 1f, t, m);
            Evaluate(ws, trial: false);
            Array.Fill(ws.Step, InitialStep, 0, m);
        }

        for (var it = 0; it < iterations; it++)
        {
            // Up to MaxApplyIterations per batch: a stop request must not wait for them all.
            start.Cancel.ThrowIfCancellationRequested();
            Gradient(ws);
            SimplexStep.Run(ws);
            Evaluate(ws, trial: true);
            bool any = false, all = true;
            for (var px = 0; px < m; px++)
            {
                var accept = ws.Accept[px] = ws.TrialLoss[px] <= ws.Loss[px];
                any |= accept;
                all &= accept;
                if (accept)
                {
                    ws.Loss[px] = ws.TrialLoss[px];
                    ws.Step[px] = Math.Min(ws.Step[px] * 1.5f, InitialStep * 64);
                }
                else ws.Step[px] *= 0.5f;
            }
            // Accepted pixels take the trial's abundances, reduced residuals and activations (the gradient needs them):
            // when all of them did, by exchanging the buffers.
            if (all) ws.AcceptAll();
            else if (any)
            {
                Take(ws.At, ws.Trial, ws);
                Take(ws.U, ws.TrialU, ws);
                for (var k = 0; k < r.Layout.Layers - 1; k++)
                    Take(ws.Mlp.Activations[k], ws.TrialMlp.Activations[k], ws);
            }
        }
        // The reconstruction RMSE at the accepted abundances, in full: r1 = W_outᵀ x + b_out + W_c a − yn.
        var last = r.Layout.Layers - 1;
        var h = r.Hidden;
        if (iterations == 0 && last > 0) new Mlp(r.Layout, blas).ForwardColumns(r.Theta, ws.At, m, ws.Mlp, last);
        var x = last > 0 ? ws.Mlp.Activations[last - 1] : ws.At;
        var r1 = ws.R1.AsSpan(0, l * m);
        var bOut = r.Theta.AsSpan(r.Layout.BiasOffsets[last], l);
        for (var b = 0; b < l; b++) r1.Slice(b * m, m).Fill(bOut[b]);
        blas.Gemm(true, false, l, m, h, 1f, r.Theta.AsSpan(r.Layout.WeightOffsets[last], h * l), l, x, m, 1f, r1, m);
        blas.Gemm(false, false, l, m, p, 1f, Wc, p, ws.At, m, 1f, r1, m);
        var acc = ws.Sum;
        Array.Clear(acc, 0, m);
        for (var b = 0; b < l; b++) ColumnOps.AddSquares(acc.AsSpan(0, m), r1.Slice(b * m, m), ws.Yn.AsSpan(b * m, m));
        for (var px = 0; px < m; px++) ws.Residual[px] = (float)(Scale * Math.Sqrt(acc[px] / l));
    }

    /// <summary>Rows x pixels (the batch's): columns whose step was accepted are copied from <paramref name="from"/>.</summary>
    private static void Take(float[] to, float[] from, Workspace ws)
    {
        int m = ws.Pixels, rows = to.Length / ws.Batch;
        var accept = ws.Accept;
        for (var i = 0; i < rows; i++)
        {
            var dst = to.AsSpan(i * m, m);
            var src = from.AsSpan(i * m, m);
            for (var px = 0; px < m; px++) if (accept[px]) dst[px] = src[px];
        }
    }

    /// <summary>
    /// Per pixel, f(a) = ‖W_c a + g(a) − y‖² + α‖E a − y‖² less a constant of the pixel, as ‖R z + t‖² (see
    /// <see cref="ReducedObjective"/>), at the accepted abundances or the trial ones; leaves u = R z + t and the hidden
    /// activations in the workspace's arrays of that point.
    /// </summary>
    private void Evaluate(Workspace ws, bool trial)
    {
        var (at, mlp, u, loss) = trial ? (ws.Trial, ws.TrialMlp, ws.TrialU, ws.TrialLoss) : (ws.At, ws.Mlp, ws.U, ws.Loss);
        var (m, blas) = (ws.Pixels, ReproducibleBlas.Instance);
        var r = Subspace;
        int p = Count, last = r.Layout.Layers - 1;
        if (last > 0) new Mlp(r.Layout, blas).ForwardColumns(r.Theta, at, m, mlp, last);
        var x = last > 0 ? mlp.Activations[last - 1] : at;
        var uu = u.AsSpan(0, r.Rank * m);
        ws.T.AsSpan(0, r.Rank * m).CopyTo(uu);
        // Triangular: rows from Hidden on have no x part.
        if (r.Triangular) blas.Gemm(ReproducibleBlas.Shape.Upper, false, Math.Min(r.Hidden, r.Rank), m, r.Hidden, 1f, r.Rx, r.Hidden, x, m, 1f, uu, m);
        else blas.Gemm(false, false, r.Rank, m, r.Hidden, 1f, r.Rx, r.Hidden, x, m, 1f, uu, m);
        blas.Gemm(false, false, r.Rank, m, p, 1f, r.Ra, p, at, m, 1f, uu, m);
        Array.Clear(loss, 0, m);
        for (var i = 0; i < r.Rank; i++) ColumnOps.AddSquares(loss.AsSpan(0, m), uu.Slice(i * m, m));
    }

    /// <summary>dF/dA (P x pixels) at ws.At: 2 Rᵀu, through the hidden layers for the x part.</summary>
    private void Gradient(Workspace ws)
    {
        var (m, blas) = (ws.Pixels, ReproducibleBlas.Instance);
        var r = Subspace;
        int p = Count, last = r.Layout.Layers - 1;
        var g = ws.Grad.AsSpan(0, p * m);
        blas.Gemm(false, false, p, m, r.Rank, 2f, r.RaT, r.Rank, ws.U, m, 0f, g, m);
        var v = ws.V.AsSpan(0, r.Hidden * m);
        if (r.Triangular) blas.Gemm(ReproducibleBlas.Shape.Lower, true, r.Hidden, m, r.Rank, 1f, r.Rx, r.Hidden, ws.U, m, 0f, v, m);
        else blas.Gemm(true, false, r.Hidden, m, r.Rank, 1f, r.Rx, r.Hidden, ws.U, m, 0f, v, m);
        if (last > 0) new Mlp(r.Layout, blas).BackwardInputColumns(r.Theta, m, ws.Mlp, v, 2f, g, fromLayer: last - 1);
        else for (var i = 0; i < g.Length; i++) g[i] += 2 * v[i];
    }

    private static double SpectralNormSquared(float[] m, int rows, int cols)
    {
        var mat = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rows, cols, (i, j) => m[i * cols + j]);
        return Math.Pow(mat.L2Norm(), 2);
    }
}
