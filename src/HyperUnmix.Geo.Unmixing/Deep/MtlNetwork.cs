using System.Runtime.Intrinsics;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>
/// The two-branch network and its objective over N fitted pixels, with every parameter in one flat vector:
/// <code>
/// J = ‖Y − (E W_r + G_r(E))‖²/LN + ‖Y − (W_c A + G_c(A))‖²/LN + α ‖Y − E A‖²/LN
///   + β (‖E‖²/LP + ‖A‖²/PN) + λ Σ_k ‖W_k‖²/|W_k|   (W_k: the MLPs' weight matrices)
/// </code>
/// The gradient is written by hand over GEMMs; buffers are allocated once, so an epoch allocates nothing.
/// </summary>
internal sealed class MtlNetwork
{
    private readonly IBlas _blas;
    private readonly float[] _y, _yt;            // L x N and N x L, normalised
    private readonly RowBranch? _row;             // null while the row branch cannot act (see RowBranch)
    private readonly float[] _rc, _ra;           // residuals: N x L, L x N (the latter only while E moves)
    private readonly float[] _at, _dat;          // Aᵀ and dJ/dAᵀ: N x P
    private readonly Mlp.Workspace[] _colWs;      // one per half of the pixels (see ColumnHalf)
    private readonly float[] _gradHalf;           // the second half's gradients of W_c and the column MLP
    private readonly int _half;                   // pixels in the first half

    public MtlNetwork(float[] yNormalised, int bands, int pixels, int p, MtlOptions options, IBlas blas)
    {
        L = bands;
        N = pixels;
        P = p;
        Options = options;
        _blas = blas;
        _y = yNormalised;
        _yt = new float[N * L];
        for (var l = 0; l < L; l++)
            for (var n = 0; n < N; n++) _yt[n * L + l] = _y[l * N + n];
        var offset = 0;
        int Take(int count) { var o = offset; offset += count; return o; }
        EOffset = Take(L * P);
        AOffset = Take(P * N);
        if (options.RowBranchActive)
        {
            var wr = Take(P * N);
            var layout = Layout([P, .. options.RowHidden, N], Take);
            _row = new RowBranch(wr, layout, new Mlp(layout, blas), new Mlp.Workspace(layout, L), new float[L * N]);
        }
        WcOffset = Take(L * P);
        ColumnLayout = Layout([P, .. options.ColumnHidden, L], Take);
        Count = offset;
        ColumnMlp = new Mlp(ColumnLayout, blas);
        _rc = new float[N * L];
        // The auxiliary task's L x N residual exists only where E moves (FixedEndmemberNmf needs none).
        _ra = EndmembersFree ? new float[L * N] : [];
        _at = new float[N * P];
        _dat = new float[N * P];
        _half = (N + 1) / 2;
        _colWs = [new Mlp.Workspace(ColumnLayout, _half), new Mlp.Workspace(ColumnLayout, _half)];
        _gradHalf = new float[Count];
    }

    public int L { get; }
    public int N { get; }
    public int P { get; }
    public MtlOptions Options { get; }
    /// <summary>Total number of parameters.</summary>
    public int Count { get; }
    public int EOffset { get; }
    public int AOffset { get; }
    public int WcOffset { get; }
    public MlpLayout ColumnLayout { get; }
    public Mlp ColumnMlp { get; }

    /// <summary>Approximate floating-point operations of one <see cref="Evaluate"/> call.</summary>
    public double FlopsPerEvaluation
    {
        get
        {
            double Mlp(MlpLayout m, int batch) => Enumerable.Range(0, m.Layers).Sum(k => 6.0 * batch * m.Sizes[k] * m.Sizes[k + 1]);
            // The L x N x P products: the auxiliary task's residual and dA (and dE when E moves), three per active branch.
            // With E fixed the auxiliary task needs no L x N x P product (see FixedEndmemberNmf).
            var products = (Options.Alpha > 0 && EndmembersFree ? 3 : 0) + (Options.RowBranchActive ? 3 : 0) + (Options.ColumnBranch ? 3 : 0);
            var linear = 2.0 * L * N * P * products;
            return linear + (Options.Nonlinear ? (_row is { } row ? Mlp(row.Layout, L) : 0) + (Options.ColumnBranch ? Mlp(ColumnLayout, N) : 0) : 0);
        }
    }

    private static MlpLayout Layout(int[] sizes, Func<int, int> take)
    {
        var w = new int[sizes.Length - 1];
        var b = new int[sizes.Length - 1];
        for (var k = 0; k < w.Length; k++)
        {
            w[k] = take(sizes[k] * sizes[k + 1]);
            b[k] = take(sizes[k + 1]);
        }
        return new MlpLayout(sizes, w, b);
    }

    /// <summary>Whether E moves: with a zero step bound its gradient is never used, so it is not computed.</summary>
    private bool EndmembersFree => Options.EndmemberSteps.Max > 0;

    /// <summary>
    /// The parameter groups iRprop+ treats with separate step bounds: those that can move. A group whose gradient is
    /// always zero (the MLPs of a linear model) or whose steps are zero (a fixed E) would be left unchanged by every
    /// update, so it is left out. Fixed by the options: built once.
    /// </summary>
    public IReadOnlyList<(int Start, int Length, StepBounds Bounds)> Groups() => _groups ??= BuildGroups();

    private IReadOnlyList<(int Start, int Length, StepBounds Bounds)>? _groups;

    private List<(int Start, int Length, StepBounds Bounds)> BuildGroups()
    {
        var o = Options;
        var groups = new List<(int, int, StepBounds)>();
        if (EndmembersFree) groups.Add((EOffset, L * P, o.EndmemberSteps));
        groups.Add((AOffset, P * N, o.AbundanceSteps));
        if (_row is { } row)
        {
            groups.Add((row.WrOffset, P * N, o.LinearSteps));
            if (o.Nonlinear) groups.Add((row.Layout.WeightOffsets[0], WcOffset - row.Layout.WeightOffsets[0], o.NetworkSteps));
        }
        if (o.ColumnBranch)
        {
            groups.Add((WcOffset, L * P, o.LinearSteps));
            if (o.Nonlinear) groups.Add((ColumnLayout.WeightOffsets[0], Count - ColumnLayout.WeightOffsets[0], o.NetworkSteps));
        }
        return groups;
    }

    /// <summary>Loss at <paramref name="thetaArray"/>, and its gradient written into <paramref name="gradArray"/>.</summary>
    public double Evaluate(float[] thetaArray, float[] gradArray)
    {
        ReadOnlySpan<float> theta = thetaArray;
        Span<float> grad = gradArray;
        var o = Options;
        // Only the groups that move are cleared and written (see Groups); the rest of grad is left as it is.
        foreach (var (start, length, _) in Groups()) grad.Slice(start, length).Clear();
        var e = theta.Slice(EOffset, L * P);
        var a = theta.Slice(AOffset, P * N);
        var dE = grad.Slice(EOffset, L * P);
        var dA = grad.Slice(AOffset, P * N);
        var c = 1.0 / ((double)L * N);
        double loss = 0;

        // The auxiliary NMF task (α‖EA − Y‖²/LN) and the column branch (Yᵀ ≈ Aᵀ W_cᵀ + G_c(Aᵀ)) over two fixed halves
        // of the pixels, on two threads (see Half).
        var g = (float)(2 * o.Alpha * c);
        var scale = (float)(2 * c);
        var tail = new Span<float>(_gradHalf, WcOffset, Count - WcOffset);
        if (o.ColumnBranch)
        {
            Transpose(a, P, N, _at);
            tail.Clear();
        }
        var sums = new (double Nmf, double Column)[2];
        if (N - _half > 0) Parallel.Invoke(() => sums[0] = Half(0, thetaArray, gradArray, g, scale), () => sums[1] = Half(1, thetaArray, gradArray, g, scale));
        else sums[0] = Half(0, thetaArray, gradArray, g, scale);
        if (o.Alpha > 0)
        {
            loss += o.Alpha * c * (sums[0].Nmf + sums[1].Nmf);
            if (EndmembersFree) _blas.Gemm(false, true, L, P, N, g, _ra, N, a, N, 1f, dE, P);
        }

        // Row branch: Y ≈ E W_r + G_r(E), one batch of L rows. It acts on the outputs only through E.
        if (_row is { } row)
        {
            var rr = row.Residual;
            var wr = theta.Slice(row.WrOffset, P * N);
            if (o.Nonlinear)
            {
                row.Mlp.Forward(theta, e, L, row.Workspace);
                row.Workspace.Output.AsSpan(0, L * N).CopyTo(rr);
            }
            else Array.Clear(rr);
            Subtract(rr, _y);
            _blas.Gemm(false, false, L, N, P, 1f, e, P, wr, N, 1f, rr, N);
            loss += c * SumSquares(rr);
            Scale(rr, (float)(2 * c));
            _blas.Gemm(true, false, P, N, L, 1f, e, P, rr, N, 1f, grad.Slice(row.WrOffset, P * N), N);
            _blas.Gemm(false, true, L, P, N, 1f, rr, N, wr, N, 1f, dE, P);
            if (o.Nonlinear) row.Mlp.Backward(theta, e, L, row.Workspace, rr, grad, dE, accumulateInputGrad: true);
        }

        // The column branch's halves: their losses, half 1's weight gradients, and dJ/dA from each pixel's rows.
        if (o.ColumnBranch)
        {
            loss += c * (sums[0].Column + sums[1].Column);
            ColumnOps.Add(grad.Slice(WcOffset, Count - WcOffset), tail);
            for (var p = 0; p < P; p++)
                for (var n = 0; n < N; n++) dA[p * N + n] += _dat[n * P + p];
        }

        // Latent and weight penalties.
        if (o.Beta > 0)
        {
            loss += o.Beta * (SumSquares(e) / (L * P) + SumSquares(a) / ((double)P * N));
            if (EndmembersFree) Axpy((float)(2 * o.Beta / (L * P)), e, dE);
            Axpy((float)(2 * o.Beta / ((double)P * N)), a, dA);
        }
        if (o.Lambda > 0 && o.Nonlinear)
        {
            foreach (var layout in new[] { _row?.Layout, o.ColumnBranch ? ColumnLayout : null })
            {
                if (layout is null) continue;
                for (var k = 0; k < layout.Layers; k++)
                {
                    var size = layout.Sizes[k] * layout.Sizes[k + 1];
                    var w = theta.Slice(layout.WeightOffsets[k], size);
                    loss += o.Lambda * SumSquares(w) / size;
                    Axpy((float)(2 * o.Lambda / size), w, grad.Slice(layout.WeightOffsets[k], size));
                }
            }
        }
        return loss;
    }

    /// <summary>
    /// Half <paramref name="h"/> of the pixels (half 0: the first ⌈N/2⌉), on its own thread. The auxiliary task: its
    /// columns of the residual EA − Y and of dA (scaled by <paramref name="g"/>). The column branch: its rows of the
    /// residual and of dJ/dAᵀ, and the gradients of W_c and the column MLP (into the gradient for half 0, into a second
    /// buffer for half 1, which the caller adds after it). Every pixel's rows and columns depend on that pixel alone
    /// and the halves are fixed, so the bits do not depend on the thread count: the weight gradients are each half's
    /// sum, then half 0's plus half 1's. Returns the half's Σ r² of each task.
    /// </summary>
    private (double Nmf, double Column) Half(int h, float[] theta, float[] grad, float g, float scale)
    {
        int r0 = h == 0 ? 0 : _half, m = h == 0 ? _half : N - _half;
        double nmf = 0;
        if (Options.Alpha > 0 && !EndmembersFree) nmf = FixedEndmemberNmf(r0, m, theta, grad, g);
        else if (Options.Alpha > 0)
        {
            var e = theta.AsSpan(EOffset, L * P);
            for (var b = 0; b < L; b++) _y.AsSpan(b * N + r0, m).CopyTo(_ra.AsSpan(b * N + r0, m));
            _blas.Gemm(false, false, L, m, P, 1f, e, P, theta.AsSpan(AOffset + r0), N, -1f, _ra.AsSpan(r0), N);
            for (var b = 0; b < L; b++) nmf += SumSquares(_ra.AsSpan(b * N + r0, m));
            _blas.Gemm(true, false, P, m, L, g, e, P, _ra.AsSpan(r0), N, 1f, grad.AsSpan(AOffset + r0), N);
        }
        return (nmf, Options.ColumnBranch ? ColumnHalf(r0, m, theta, h == 0 ? grad : _gradHalf, _colWs[h], scale) : 0);
    }

    /// <summary>
    /// The auxiliary task for pixels r0 .. r0 + m − 1 while E is fixed (the default fit), without forming the L x m
    /// residual: per pixel ‖E a − y‖² = aᵀG a − 2 aᵀb + ‖y‖² and Eᵀ(E a − y) = G a − b, with G = EᵀE and b = Eᵀy
    /// computed once for the E in force (<see cref="FixedProducts"/>). In double, in a fixed order per pixel: the
    /// residual's form streamed 2 x L x m floats through memory twice an epoch (a fifth to a third of each half's epoch).
    /// Adds g (G a − b) to dA's columns and returns the half's Σ‖E a − y‖².
    /// </summary>
    private double FixedEndmemberNmf(int r0, int m, float[] theta, float[] grad, float g)
    {
        var (gram, eTy, yy) = FixedProducts(theta.AsSpan(EOffset, L * P));
        var a = theta.AsSpan(AOffset, P * N);
        var dA = grad.AsSpan(AOffset, P * N);
        Span<double> col = stackalloc double[P];
        double sum = 0;
        for (var px = r0; px < r0 + m; px++)
        {
            for (var i = 0; i < P; i++) col[i] = a[i * N + px];
            var q = yy[px];
            for (var i = 0; i < P; i++)
            {
                double ga = 0;
                for (var j = 0; j < P; j++) ga += gram[i * P + j] * col[j];
                var bi = eTy[i * N + px];
                q += col[i] * (ga - 2 * bi);
                dA[i * N + px] += (float)(g * (ga - bi));
            }
            sum += q;
        }
        return sum;
    }

    private readonly object _fixedLock = new();
    private (float[] E, double[] Gram, double[] ETy, double[] Yy)? _fixed;

    /// <summary>
    /// EᵀE (P x P), Eᵀy per pixel (P x N) and ‖y‖² per pixel for <paramref name="e"/>, computed on first use and again
    /// only when E changes (the projection's first step can clip a negative entry of the starting endmembers).
    /// Both halves' threads ask; one computes.
    /// </summary>
    private (double[] Gram, double[] ETy, double[] Yy) FixedProducts(ReadOnlySpan<float> e)
    {
        lock (_fixedLock)
        {
            if (_fixed is { } f && e.SequenceEqual(f.E)) return (f.Gram, f.ETy, f.Yy);
            var gram = new double[P * P];
            var eTy = new double[P * N];
            var yy = new double[N];
            for (var l = 0; l < L; l++)
            {
                var row = _y.AsSpan(l * N, N);
                for (var i = 0; i < P; i++)
                {
                    double ei = e[l * P + i];
                    for (var j = 0; j < P; j++) gram[i * P + j] += ei * e[l * P + j];
                    var bi = eTy.AsSpan(i * N, N);
                    for (var n = 0; n < N; n++) bi[n] += ei * row[n];
                }
                for (var n = 0; n < N; n++) yy[n] += (double)row[n] * row[n];
            }
            _fixed = (e.ToArray(), gram, eTy, yy);
            return (gram, eTy, yy);
        }
    }

    /// <summary>The column branch on pixels r0 .. r0 + m − 1 (rows of Yᵀ), its weight gradients added into <paramref name="target"/>; returns its Σ r².</summary>
    private double ColumnHalf(int r0, int m, float[] theta, float[] target, Mlp.Workspace ws, float scale)
    {
        var wc = theta.AsSpan(WcOffset, L * P);
        var at = _at.AsSpan(r0 * P, m * P);
        var rc = _rc.AsSpan(r0 * L, m * L);
        var dat = _dat.AsSpan(r0 * P, m * P);
        if (Options.Nonlinear)
        {
            ColumnMlp.Forward(theta, at, m, ws);
            ws.Output.AsSpan(0, m * L).CopyTo(rc);
        }
        else rc.Clear();
        Subtract(rc, _yt.AsSpan(r0 * L, m * L));
        _blas.Gemm(false, true, m, L, P, 1f, at, P, wc, P, 1f, rc, L);
        var sum = SumSquares(rc);
        Scale(rc, scale);
        _blas.Gemm(true, false, L, P, m, 1f, rc, L, at, P, 1f, target.AsSpan(WcOffset, L * P), P);
        _blas.Gemm(false, false, m, P, L, 1f, rc, L, wc, P, 0f, dat, P);
        if (Options.Nonlinear) ColumnMlp.Backward(theta, at, m, ws, rc, target, dat, accumulateInputGrad: true);
        return sum;
    }

    /// <summary>Starts at the linear solution: W_r = A0, W_c = E0, zero output layers, seeded He hidden layers.</summary>
    public float[] Initialise(ReadOnlySpan<float> e0, ReadOnlySpan<float> a0)
    {
        var theta = new float[Count];
        e0.CopyTo(theta.AsSpan(EOffset, L * P));
        a0.CopyTo(theta.AsSpan(AOffset, P * N));
        if (_row is { } row) a0.CopyTo(theta.AsSpan(row.WrOffset, P * N));
        e0.CopyTo(theta.AsSpan(WcOffset, L * P));
        var rng = new Rng(Options.Seed);
        // The row MLP's hidden weights are drawn first whether or not it exists, so the column MLP's start is the same.
        DrawHidden(rng, [P, .. Options.RowHidden, N], _row?.Layout, theta);
        DrawHidden(rng, ColumnLayout.Sizes, ColumnLayout, theta);
        return theta;
    }

    /// <summary>
    /// He-initialised weights of an MLP's hidden layers (every layer but the output), drawn in layer order and written
    /// at <paramref name="layout"/>'s offsets; without a layout they are drawn and dropped, so later draws stay the same.
    /// </summary>
    private static void DrawHidden(Rng rng, int[] sizes, MlpLayout? layout, float[] theta)
    {
        for (var k = 0; k < sizes.Length - 2; k++)
        {
            var std = Math.Sqrt(2.0 / sizes[k]);
            var count = sizes[k] * sizes[k + 1];
            var w = layout is null ? default : theta.AsSpan(layout.WeightOffsets[k], count);
            for (var i = 0; i < count; i++)
            {
                var v = (float)(std * rng.NextGaussian());
                if (!w.IsEmpty) w[i] = v;
            }
        }
    }

    /// <summary>
    /// The row branch (Y ≈ E W_r + G_r(E)), which exists only while it can act, through a moving E: its MLP's output
    /// layer has N columns (2.3 million parameters for 9,000 pixels), which the default fit (E fixed) would allocate,
    /// copy and clear for nothing.
    /// </summary>
    /// <param name="WrOffset">Offset of W_r (P x N) in the parameters.</param>
    /// <param name="Residual">Its residual, L x N.</param>
    private sealed record RowBranch(int WrOffset, MlpLayout Layout, Mlp Mlp, Mlp.Workspace Workspace, float[] Residual);

    /// <summary>The constraints after every step: abundance columns on the simplex, endmembers non-negative.</summary>
    public void Project(Span<float> theta)
    {
        Simplex.ProjectColumns(theta.Slice(AOffset, P * N), P, N);
        foreach (ref var v in theta.Slice(EOffset, L * P)) if (v < 0) v = 0;
    }

    /// <summary>
    /// Σ (double)x², in a fixed order whatever the CPU: sixteen running sums (four explicit 4-lane double vectors, each
    /// a separate multiply and add), combined in a fixed order, then the tail. The residuals' sums (two million
    /// squares an epoch on the default fit) were one serial chain of additions: 0.3 s of a 2.5 s fit.
    /// </summary>
    internal static double SumSquares(ReadOnlySpan<float> x)
    {
        Vector256<double> s0 = Vector256<double>.Zero, s1 = s0, s2 = s0, s3 = s0;
        var i = 0;
        for (; i + 16 <= x.Length; i += 16)
        {
            var u = Vector256.Create(x.Slice(i, 8));
            var v = Vector256.Create(x.Slice(i + 8, 8));
            var (u0, u1, v0, v1) = (Vector256.WidenLower(u), Vector256.WidenUpper(u), Vector256.WidenLower(v), Vector256.WidenUpper(v));
            s0 = Vector256.Add(s0, Vector256.Multiply(u0, u0));
            s1 = Vector256.Add(s1, Vector256.Multiply(u1, u1));
            s2 = Vector256.Add(s2, Vector256.Multiply(v0, v0));
            s3 = Vector256.Add(s3, Vector256.Multiply(v1, v1));
        }
        var t = Vector256.Add(Vector256.Add(s0, s1), Vector256.Add(s2, s3));
        var s = (t.GetElement(0) + t.GetElement(1)) + (t.GetElement(2) + t.GetElement(3));
        for (; i < x.Length; i++) s += (double)x[i] * x[i];
        return s;
    }

    // Element-wise, vectorised; each lane does the scalar loop's operation (no fused multiply-add), so the same bits.
    private static void Subtract(Span<float> x, ReadOnlySpan<float> y)
    {
        var i = 0;
        var w = System.Numerics.Vector<float>.Count;
        for (; i + w <= x.Length; i += w) (new System.Numerics.Vector<float>(x.Slice(i, w)) - new System.Numerics.Vector<float>(y.Slice(i, w))).CopyTo(x.Slice(i, w));
        for (; i < x.Length; i++) x[i] -= y[i];
    }

    private static void Scale(Span<float> x, float s) => ColumnOps.Scale(x, x, s);

    private static void Axpy(float s, ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        var w = System.Numerics.Vector<float>.Count;
        for (; i + w <= x.Length; i += w) (new System.Numerics.Vector<float>(y.Slice(i, w)) + s * new System.Numerics.Vector<float>(x.Slice(i, w))).CopyTo(y.Slice(i, w));
        for (; i < x.Length; i++) y[i] += s * x[i];
    }

    internal static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
    }
}
