using System.Text.Json;
using System.Text.Json.Nodes;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>A model file that cannot be used (wrong format, wrong bands...). Names the file.</summary>
public sealed class MtlModelException(string path, string problem) : HyperUnmixException($"{path}: {problem}")
{
    public override ErrorKind Kind => ErrorKind.BadInput;
}

/// <summary>
/// The shared, immutable part of a fitted deep model: endmembers E, the column branch a → W_c a + g_c(a) (a learned
/// nonlinear mixing model that does not depend on the pixel), the data scale and α. Applying it to any pixel solves
/// min over the simplex of ‖y − (W_c a + g_c(a))‖² + α‖y − E a‖² (normalised units), warm-started from FCLS.
/// A small serialisable value: fitted once, broadcast to every tile.
/// </summary>
public sealed class MtlModel
{
    public const string Format = "hyperunmix-mtl";
    private readonly AbundanceSolver _fcls;
    public const int FormatVersion = 1;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

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
    }

    public int Bands { get; }
    public int Count { get; }
    /// <summary>Endmembers in data units.</summary>
    public EndmemberSet Endmembers { get; }
    public float[] ENormalised { get; }
    public float[] Wc { get; }
    public MlpLayout ColumnLayout { get; }
    /// <summary>The column MLP's weights and biases, laid out from offset 0.</summary>
    public float[] ColumnTheta { get; }
    public double Scale { get; }
    public double Alpha { get; }
    public string[] Names { get; }
    public double[]? Wavelengths { get; }
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

    /// <summary>Per-worker buffers for <see cref="Apply"/>.</summary>
    public sealed class Workspace
    {
        internal Workspace(MtlModel m, int batch)
        {
            var r = m.Subspace;
            Batch = batch;
            Mlp = new Mlp.Workspace(r.Layout, batch);
            TrialMlp = new Mlp.Workspace(r.Layout, batch);
            Yn = new float[batch * m.Bands];
            Sum = new double[batch];
            At = new float[batch * m.Count];
            Trial = new float[batch * m.Count];
            Grad = new float[batch * m.Count];
            T = new float[batch * r.Rank];
            U = new float[batch * r.Rank];
            TrialU = new float[batch * r.Rank];
            V = new float[batch * r.Hidden];
            R1 = new float[batch * m.Bands];
            Loss = new double[batch];
            TrialLoss = new double[batch];
            Accept = new bool[batch];
            Step = new float[batch];
            Fcls = new float[m.Count * batch];
            Residual = new float[batch];
            Valid = new byte[batch];
            Solver = new TileScratch();
            Chunk = new float[m.Bands * batch];
            PixelScales = new float[batch];
        }

        internal float[] Chunk { get; }
        internal float[] PixelScales { get; }

        public int Batch { get; }
        /// <summary>The network's activations at the accepted abundances, and at the trial ones.</summary>
        internal Mlp.Workspace Mlp { get; }
        internal Mlp.Workspace TrialMlp { get; }
        internal float[] Yn { get; }
        internal double[] Sum { get; }
        internal float[] At { get; }
        internal float[] Trial { get; }
        internal float[] Grad { get; }
        /// <summary>t = Qᵀs per pixel, and the reduced residuals u = R z + t at the accepted and the trial point (rank x pixels).</summary>
        internal float[] T { get; }
        internal float[] U { get; }
        internal float[] TrialU { get; }
        /// <summary>Rᵀu for the last hidden layer's activations (hidden x pixels).</summary>
        internal float[] V { get; }
        internal float[] R1 { get; }
        internal double[] Loss { get; }
        internal double[] TrialLoss { get; }
        internal bool[] Accept { get; }
        internal float[] Step { get; }
        internal float[] Fcls { get; }
        internal float[] Residual { get; }
        internal byte[] Valid { get; }
        internal TileScratch Solver { get; }
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

    public Workspace CreateWorkspace() => new(this, BatchPixels);

    /// <summary>
    /// Abundances (P x N, band-sequential) and the model's reconstruction RMSE (N, data units) for a band-sequential
    /// tile y (L x N, data units). Pixels with valid = 0 get <paramref name="noData"/>. Each pixel's result depends
    /// on that pixel alone, so tiles and threads do not change it.
    /// </summary>
    /// <param name="initial">Optional abundances (P x N) to start from instead of FCLS, e.g. those of the fit.</param>
    /// <param name="iterations">Projected-gradient iterations (default: the model's); 0 keeps the start.</param>
    /// <param name="cancel">Checked at every iteration of every batch.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled.</exception>
    public void Apply(ReadOnlySpan<float> y, int n, ReadOnlySpan<byte> valid, Span<float> abundances, Span<float> residual, float noData,
        Workspace ws, ReadOnlySpan<float> initial = default, int? iterations = null, CancellationToken cancel = default)
    {
        // Every product a pixel's result depends on runs in a fixed order: not OpenBLAS, whose kernels (and so the
        // last bits) change with the CPU, the thread count and the size of the call.
        var blas = ReproducibleBlas.Instance;
        if (y.Length < Bands * n) throw new ArgumentException($"tile has {y.Length} samples, expected {Bands} x {n}");
        // A batch of m pixels is stored with stride m (features x pixels). The products run in a fixed order per
        // pixel, so a partial last batch gives each pixel the same result as a full one: no padding needed.
        var chunk = ws.Chunk;
        for (var start = 0; start < n; start += ws.Batch)
        {
            var m = Math.Min(ws.Batch, n - start);
            for (var l = 0; l < Bands; l++) y.Slice(l * n + start, m).CopyTo(chunk.AsSpan(l * m, m));
            valid.Slice(start, m).CopyTo(ws.Valid);
            if (!initial.IsEmpty)
                for (var j = 0; j < Count; j++) initial.Slice(j * n + start, m).CopyTo(ws.At.AsSpan(j * m, m));
            var scales = ws.PixelScales;
            if (PixelScale != PixelScale.None)
            {
                // The model was fitted on pixels divided by their scale (their NNLS sum or length): do the same here.
                _scaleSolver!.SolveTile(chunk, m, ws.Valid.AsSpan(0, m), ws.Fcls, ws.Residual, 0f, ws.Solver, scales);
                for (var l = 0; l < Bands; l++)
                {
                    var row = chunk.AsSpan(l * m, m);
                    for (var px = 0; px < m; px++) row[px] = scales[px] > 0 ? row[px] / scales[px] : 0;
                }
                // The scaled solution (a = b / Σb, or FCLS of the unit-length pixel) is the linear start: no second solve.
                if (initial.IsEmpty)
                    for (var j = 0; j < Count; j++)
                        for (var px = 0; px < m; px++) ws.At[j * m + px] = ws.Valid[px] != 0 ? ws.Fcls[j * m + px] : 1f / Count;
            }
            var started = !initial.IsEmpty || PixelScale != PixelScale.None;
            ApplyBatch(chunk, m, ws, blas, started, iterations ?? ApplyIterations, cancel);
            for (var px = 0; px < m; px++)
            {
                var ok = valid[start + px] != 0;
                var dark = PixelScale != PixelScale.None && !(scales[px] > 0);
                for (var j = 0; j < Count; j++) abundances[j * n + start + px] = !ok ? noData : dark ? 1f / Count : ws.At[j * m + px];
                residual[start + px] = !ok ? noData : PixelScale != PixelScale.None ? ws.Residual[px] * scales[px] : ws.Residual[px];
            }
        }
    }

    /// <summary>
    /// The objective's fixed algebra, derived once per model. With x the last hidden layer's activations (the output
    /// layer's input; a itself when there is no hidden layer), z = [x; a] and s = [b_out − y; −√α y], the objective is
    /// ‖A z + s‖² with A = [W_outᵀ W_c; 0 √α E] (2L x d). With A = Q R (a QR when A has full column rank, R upper
    /// triangular; otherwise the SVD A = U Σ Vᵀ with Q = U, R = Σ Vᵀ, dropping directions with σ below 1e-6 of the
    /// largest: below float precision) and t = Qᵀ s, ‖A z + s‖² = ‖R z + t‖² + a constant that no step changes, and
    /// the gradient Aᵀ(A z + s) = Rᵀ(R z + t).
    /// So after t (rank x L per pixel, once) every evaluation and gradient costs rank x d instead of L x d, and the
    /// output layer (the network's largest) is only run once, for the final residual.
    /// </summary>
    internal sealed class ReducedObjective
    {
        /// <summary>The column network without hidden units that reach no output (all outgoing weights zero).</summary>
        public required MlpLayout Layout { get; init; }
        public required float[] Theta { get; init; }
        public required int Rank { get; init; }
        /// <summary>R is upper triangular (from a QR of A when A has full column rank; else R = Σ Vᵀ is dense).</summary>
        public required bool Triangular { get; init; }
        /// <summary>Width of the output layer's input.</summary>
        public required int Hidden { get; init; }
        /// <summary>R's columns for x (rank x hidden) and for a (rank x P), row-major.</summary>
        public required float[] Rx { get; init; }
        public required float[] Ra { get; init; }
        /// <summary>t = C0 − Bᵀ yn: B (L x rank) row-major (as Bᵀ it is the faster operand), C0 (rank).</summary>
        public required float[] B { get; init; }
        public required float[] C0 { get; init; }
    }

    private ReducedObjective? _subspace;

    /// <summary>Derived on first use (a model is also built for every validation of a fit, which never applies most of them).</summary>
    internal ReducedObjective Subspace => LazyInitializer.EnsureInitialized(ref _subspace, Reduce);

    /// <summary>
    /// The network without the hidden units whose outgoing weights are all zero (the fit's sparsity penalty leaves
    /// many): they add exact zeros to every sum, so dropping them changes no value, and it gives A full column rank.
    /// </summary>
    internal static (MlpLayout Layout, float[] Theta) Prune(MlpLayout layout, float[] theta)
    {
        var s = layout.Sizes;
        var layers = layout.Layers;
        // keep[k]: the kept units of layer k's input (k = 0: the abundances, all kept; k = layers: the outputs, all kept).
        var keep = new int[layers + 1][];
        keep[0] = Enumerable.Range(0, s[0]).ToArray();
        keep[layers] = Enumerable.Range(0, s[layers]).ToArray();
        for (var k = layers - 1; k >= 1; k--)
        {
            var next = keep[k + 1];
            int offset = layout.WeightOffsets[k], width = s[k + 1];
            keep[k] = Enumerable.Range(0, s[k]).Where(u => next.Any(o => theta[offset + u * width + o] != 0)).ToArray();
            if (keep[k].Length == 0) keep[k] = [0]; // a layer needs a unit; this one adds zeros
        }
        var sizes = keep.Select(k => k.Length).ToArray();
        var wOff = new int[layers];
        var bOff = new int[layers];
        var count = 0;
        for (var k = 0; k < layers; k++)
        {
            wOff[k] = count;
            count += sizes[k] * sizes[k + 1];
            bOff[k] = count;
            count += sizes[k + 1];
        }
        var t = new float[count];
        for (var k = 0; k < layers; k++)
        {
            for (var i = 0; i < sizes[k]; i++)
                for (var o = 0; o < sizes[k + 1]; o++)
                    t[wOff[k] + i * sizes[k + 1] + o] = theta[layout.WeightOffsets[k] + keep[k][i] * s[k + 1] + keep[k + 1][o]];
            for (var o = 0; o < sizes[k + 1]; o++) t[bOff[k] + o] = theta[layout.BiasOffsets[k] + keep[k + 1][o]];
        }
        return (new MlpLayout(sizes, wOff, bOff), t);
    }

    private ReducedObjective Reduce()
    {
        var (layout, theta) = Prune(ColumnLayout, ColumnTheta);
        int l = Bands, p = Count, last = layout.Layers - 1;
        var h = layout.Sizes[last];
        var d = h + p;
        var wOut = theta.AsSpan(layout.WeightOffsets[last], h * l);
        var bOut = theta.AsSpan(layout.BiasOffsets[last], l);
        var sqa = Math.Sqrt(Alpha);
        var a = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(2 * l, d);
        for (var i = 0; i < l; i++)
        {
            for (var k = 0; k < h; k++) a[i, k] = wOut[k * l + i];
            for (var j = 0; j < p; j++)
            {
                a[i, h + j] = Wc[i * p + j];
                a[l + i, h + j] = sqa * ENormalised[i * p + j];
            }
        }
        var svd = a.Svd(computeVectors: true);
        var sigma = svd.S;
        var rank = 0;
        while (rank < sigma.Count && sigma[rank] > sigma[0] * 1e-6) rank++;
        // With full column rank, a QR of A gives the same ‖R z + t‖² with R triangular: about half the products.
        var triangular = rank == d;
        MathNet.Numerics.LinearAlgebra.Matrix<double> basis, factor;
        if (triangular)
        {
            var qr = a.QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin);
            basis = qr.Q;
            factor = qr.R;
        }
        else
        {
            basis = svd.U;
            factor = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rank, d, (i, k) => sigma[i] * svd.VT[i, k]);
        }
        var rx = new float[rank * h];
        var ra = new float[rank * p];
        var bm = new float[l * rank];
        var c0 = new float[rank];
        for (var i = 0; i < rank; i++)
        {
            for (var k = 0; k < h; k++) rx[i * h + k] = (float)factor[i, k];
            for (var j = 0; j < p; j++) ra[i * p + j] = (float)factor[i, h + j];
            double c = 0;
            for (var b = 0; b < l; b++)
            {
                c += basis[b, i] * bOut[b];
                bm[b * rank + i] = (float)(basis[b, i] + sqa * basis[l + b, i]);
            }
            c0[i] = (float)c;
        }
        return new ReducedObjective { Layout = layout, Theta = theta, Rank = rank, Triangular = triangular, Hidden = h, Rx = rx, Ra = ra, B = bm, C0 = c0 };
    }

    private void ApplyBatch(float[] y, int m, Workspace ws, ReproducibleBlas blas, bool started, int iterations, CancellationToken cancel)
    {
        int l = Bands, p = Count;
        var r = Subspace;
        if (!started)
        {
            // Warm start: FCLS with the model's endmembers, in data units.
            _fcls.SolveTile(y, m, ws.Valid.AsSpan(0, m), ws.Fcls, ws.Residual, 0f, ws.Solver);
            for (var j = 0; j < p; j++)
                for (var px = 0; px < m; px++) ws.At[j * m + px] = ws.Valid[px] != 0 ? ws.Fcls[j * m + px] : 1f / p;
        }
        // Everything below is feature-major (features x pixels): every product runs across the pixels, so a pixel's
        // value depends on its own column alone.
        ColumnOps.Scale(ws.Yn.AsSpan(0, l * m), y.AsSpan(0, l * m), (float)(1 / Scale));

        if (iterations > 0)
        {
            // t = C0 − Bᵀ yn, once per pixel.
            var t = ws.T.AsSpan(0, r.Rank * m);
            for (var i = 0; i < r.Rank; i++) t.Slice(i * m, m).Fill(r.C0[i]);
            blas.Gemm(true, false, r.Rank, m, l, -1f, r.B, r.Rank, ws.Yn, m, 1f, t, m);
            Evaluate(ws.At, m, ws.Mlp, ws.U, ws.Loss, ws, blas);
            Array.Fill(ws.Step, InitialStep, 0, m);
        }
        for (var it = 0; it < iterations; it++)
        {
            // Up to MaxApplyIterations per batch: a stop request must not wait for them all.
            cancel.ThrowIfCancellationRequested();
            Gradient(m, ws, blas);
            SimplexStep.Run(ws.Trial, ws.At, ws.Grad, ws.Step, p, m);
            Evaluate(ws.Trial, m, ws.TrialMlp, ws.TrialU, ws.TrialLoss, ws, blas);
            var any = false;
            for (var px = 0; px < m; px++)
            {
                var accept = ws.Accept[px] = ws.TrialLoss[px] <= ws.Loss[px];
                any |= accept;
                if (accept)
                {
                    ws.Loss[px] = ws.TrialLoss[px];
                    ws.Step[px] = Math.Min(ws.Step[px] * 1.5f, InitialStep * 64);
                }
                else ws.Step[px] *= 0.5f;
            }
            // Accepted pixels take the trial's abundances, reduced residuals and activations (the gradient needs them).
            if (any)
            {
                Take(ws.At, ws.Trial, p, m, ws.Accept);
                Take(ws.U, ws.TrialU, r.Rank, m, ws.Accept);
                for (var k = 0; k < r.Layout.Layers - 1; k++)
                    Take(ws.Mlp.Activations[k], ws.TrialMlp.Activations[k], r.Layout.Sizes[k + 1], m, ws.Accept);
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

    /// <summary>Rows x pixels: columns whose <paramref name="accept"/> is set are copied from <paramref name="from"/>.</summary>
    private static void Take(float[] to, float[] from, int rows, int m, bool[] accept)
    {
        for (var i = 0; i < rows; i++)
        {
            var dst = to.AsSpan(i * m, m);
            var src = from.AsSpan(i * m, m);
            for (var px = 0; px < m; px++) if (accept[px]) dst[px] = src[px];
        }
    }

    /// <summary>
    /// Per pixel, f(a) = ‖W_c a + g(a) − y‖² + α‖E a − y‖² less a constant of the pixel, as ‖R z + t‖² (see
    /// <see cref="ReducedObjective"/>); leaves u = R z + t in <paramref name="u"/> and the hidden activations in <paramref name="mlp"/>.
    /// </summary>
    private void Evaluate(float[] at, int m, Mlp.Workspace mlp, float[] u, double[] loss, Workspace ws, ReproducibleBlas blas)
    {
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
    private void Gradient(int m, Workspace ws, ReproducibleBlas blas)
    {
        var r = Subspace;
        int p = Count, last = r.Layout.Layers - 1;
        var g = ws.Grad.AsSpan(0, p * m);
        blas.Gemm(true, false, p, m, r.Rank, 2f, r.Ra, p, ws.U, m, 0f, g, m);
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

    /// <summary>Saves the model as JSON (arrays as base64 float32, little-endian).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? provenance = null) =>
        EndmemberFiles.WriteAtomically(path, ToBytes(provenance));

    /// <summary>The model file's bytes (what <see cref="Save"/> writes).</summary>
    public byte[] ToBytes(IReadOnlyDictionary<string, string>? provenance = null)
    {
        var root = new JsonObject
        {
            ["format"] = Format,
            ["format_version"] = FormatVersion,
            ["bands"] = Bands,
            ["endmembers"] = Count,
            ["names"] = new JsonArray(Names.Select(n => (JsonNode)n).ToArray()),
            ["wavelengths"] = Wavelengths is null ? null : new JsonArray(Wavelengths.Select(w => (JsonNode)w).ToArray()),
            ["scale"] = Scale,
            ["alpha"] = Alpha,
            ["apply_iterations"] = ApplyIterations,
            ["pixel_scale"] = PixelScales.Name(PixelScale),
            ["column_layers"] = new JsonArray(ColumnLayout.Sizes.Select(s => (JsonNode)s).ToArray()),
            ["E"] = B64(ENormalised),
            ["column_linear"] = B64(Wc),
            ["column_theta"] = B64(ColumnTheta),
            ["provenance"] = provenance is null ? null : new JsonObject(provenance.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        return JsonSerializer.SerializeToUtf8Bytes(root, Indented);
    }

    /// <summary>The most projected-gradient iterations a model file may ask for per pixel (the fit uses 5).</summary>
    public const int MaxApplyIterations = 10_000;
    // Bounds on a model file's sizes, checked before anything is allocated: the per-worker workspace holds a
    // batch of 1,024 pixels for every band and hidden unit, so these keep it under a few hundred MB.
    private const int MaxBands = 16_384, MaxHiddenWidth = 4_096, MaxHiddenLayers = 16;
    // Data scale and alpha far outside these make the normalised data or the loss overflow float32.
    private const double MinScale = 1e-30, MaxScale = 1e30, MaxAlpha = 1e6;

    /// <summary>
    /// Reads a model file, checking every field against the bounds above before allocating: a file edited by hand
    /// or crafted must be refused with its name and the field, not run out of memory, overflow or run for ever.
    /// </summary>
    /// <exception cref="MtlModelException">Missing, not a model, damaged, or a field out of bounds.</exception>
    public static MtlModel Load(string path)
    {
        if (!File.Exists(path)) throw new MtlModelException(path, "model file not found");
        return FromBytes(File.ReadAllBytes(path), path);
    }

    /// <summary>A model from a model file's bytes (<paramref name="path"/> names it in errors), checked like <see cref="Load"/>.</summary>
    public static MtlModel FromBytes(byte[] json, string path)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new MtlModelException(path, $"not a model file (invalid JSON: {e.Message})"); }
        // Checked field by field: a root that is an array, or "format": 5, must read as not-a-model, not as an internal error.
        if (root is not JsonObject) throw new MtlModelException(path, "not a model file (its JSON root is not an object)");
        if (root["format"] is not JsonValue format || !format.TryGetValue<string>(out var name) || name != Format)
            throw new MtlModelException(path, $"not a {Format} model file (\"format\" is not \"{Format}\")");
        if (root["format_version"] is not JsonValue version || !version.TryGetValue<double>(out var v) || v != Math.Floor(v))
            throw new MtlModelException(path, "format_version is missing or not an integer");
        if (v != FormatVersion) throw new MtlModelException(path, $"model format version {v:G} is not supported (this version reads {FormatVersion})");
        try
        {
            var bands = (int)Number(root, "bands", path, 1, MaxBands, integer: true);
            var p = (int)Number(root, "endmembers", path, 1, bands, integer: true);
            var scale = Number(root, "scale", path, MinScale, MaxScale, integer: false);
            var alpha = Number(root, "alpha", path, 0, MaxAlpha, integer: false);
            var iterations = (int)Number(root, "apply_iterations", path, 0, MaxApplyIterations, integer: true);
            var sizes = root["column_layers"]!.AsArray().Select(n => n!.GetValue<double>()).ToArray();
            if (sizes.Length < 2 || sizes.Length > MaxHiddenLayers + 2)
                throw new MtlModelException(path, $"column_layers has {sizes.Length} sizes, expected 2 to {MaxHiddenLayers + 2}");
            if (sizes[0] != p || sizes[^1] != bands)
                throw new MtlModelException(path, $"column_layers runs from {sizes[0]:G} to {sizes[^1]:G}, expected from endmembers ({p}) to bands ({bands})");
            foreach (var h in sizes[1..^1])
                if (!(h >= 1 && h <= MaxHiddenWidth && h == Math.Floor(h)))
                    throw new MtlModelException(path, $"column_layers has a hidden width of {h:G}, expected an integer from 1 to {MaxHiddenWidth}");
            var widths = sizes.Select(h => (int)h).ToArray();
            // At most 17 layers of 16,384 x 4,096 weights: the offsets fit an int by the bounds above.
            var w = new int[widths.Length - 1];
            var b = new int[widths.Length - 1];
            var offset = 0;
            for (var k = 0; k < w.Length; k++) { w[k] = offset; offset = checked(offset + widths[k] * widths[k + 1]); b[k] = offset; offset = checked(offset + widths[k + 1]); }
            var e = FromB64(root["E"]!.GetValue<string>(), bands * p, path, "E");
            var wc = FromB64(root["column_linear"]!.GetValue<string>(), bands * p, path, "column_linear", MaxWeight);
            var theta = FromB64(root["column_theta"]!.GetValue<string>(), offset, path, "column_theta", MaxWeight);
            var names = root["names"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
            var wl = root["wavelengths"]?.AsArray().Select(n => n!.GetValue<double>()).ToArray();
            // Files written before the vocabulary was unified say sum and length for scale and l2.
            var pixelScale = root["pixel_scale"]?.GetValue<string>() switch
            {
                null => PixelScale.None,
                "sum" => PixelScale.Scale,
                "length" => PixelScale.L2,
                var given => PixelScales.Parse(given) ?? throw new MtlModelException(path, $"pixel_scale is '{given}', expected one of {string.Join(", ", PixelScales.Names)}"),
            };
            var model = new MtlModel(bands, p, e, wc, new MlpLayout(widths, w, b), theta, scale, alpha, names, wl, iterations);
            return pixelScale == PixelScale.None ? model : model.WithPixelScale(pixelScale);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new MtlModelException(path, $"damaged model file ({e.Message})");
        }
    }

    /// <summary>Refuses a scene whose bands do not match the model's.</summary>
    public void CheckScene(string path, int bands, double[]? wavelengths)
    {
        if (bands != Bands) throw new MtlModelException(path, $"the model was fitted on {Bands} bands, the scene has {bands}: apply it only to scenes of the same sensor and band selection");
        if (Wavelengths is not null && wavelengths is not null)
            for (var i = 0; i < bands; i++)
                if (Math.Abs(Wavelengths[i] - wavelengths[i]) > 1e-3 * Math.Max(1, Math.Abs(wavelengths[i])))
                    throw new MtlModelException(path, $"band {i + 1} is at {wavelengths[i]:G6}, the model's at {Wavelengths[i]:G6}: not the same sensor or band selection");
    }

    private static string B64(float[] x) => Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));

    /// <summary>
    /// The largest network weight a model may hold. Fitted on scaled data, weights stay near 1 (at most 1.9 on the
    /// sample and EnMAP scenes); 1e30 is finite but overflows float32 products, and once gave every abundance 0 and
    /// an infinite residual with exit 0.
    /// </summary>
    public const float MaxWeight = 1e6f;

    private static float[] FromB64(string s, int expected, string path, string what, float limit = float.MaxValue)
    {
        var bytes = Convert.FromBase64String(s);
        if (bytes.Length != expected * 4L) throw new MtlModelException(path, $"{what} has {bytes.Length / 4} values, expected {expected}");
        var r = new float[expected];
        Buffer.BlockCopy(bytes, 0, r, 0, bytes.Length);
        var bad = Array.FindIndex(r, v => !float.IsFinite(v));
        if (bad >= 0) throw new MtlModelException(path, $"{what} has a non-finite value ({r[bad]}) at index {bad}");
        var big = Array.FindIndex(r, v => Math.Abs(v) > limit);
        if (big >= 0)
            throw new MtlModelException(path, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{what} has {r[big]:G} at index {big}, beyond the ±{limit:G} a fitted model's weights stay within (damaged or not fitted by this tool)"));
        return r;
    }

    /// <summary>A numeric field within [min, max] (an integer when asked), or an error naming the field.</summary>
    private static double Number(JsonNode root, string field, string path, double min, double max, bool integer)
    {
        var node = root[field] ?? throw new MtlModelException(path, $"{field} is missing");
        var v = node.GetValue<double>();
        if (!(v >= min && v <= max) || (integer && v != Math.Floor(v)))
            throw new MtlModelException(path, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{field} is {v:G}, expected {(integer ? "an integer" : "a number")} from {min:G} to {max:G}"));
        return v;
    }
}
