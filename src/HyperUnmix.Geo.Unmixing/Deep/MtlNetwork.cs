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
    private readonly float[] _rr, _rc, _ra;      // residuals: L x N, N x L, L x N
    private readonly float[] _at, _dat;          // Aᵀ and dJ/dAᵀ: N x P
    private readonly Mlp.Workspace _rowWs, _colWs;

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
        WrOffset = Take(P * N);
        RowLayout = Layout([P, .. options.RowHidden, N], Take);
        WcOffset = Take(L * P);
        ColumnLayout = Layout([P, .. options.ColumnHidden, L], Take);
        Count = offset;
        RowMlp = new Mlp(RowLayout, blas);
        ColumnMlp = new Mlp(ColumnLayout, blas);
        _rr = new float[L * N];
        _rc = new float[N * L];
        _ra = new float[L * N];
        _at = new float[N * P];
        _dat = new float[N * P];
        _rowWs = new Mlp.Workspace(RowLayout, L);
        _colWs = new Mlp.Workspace(ColumnLayout, N);
    }

    public int L { get; }
    public int N { get; }
    public int P { get; }
    public MtlOptions Options { get; }
    /// <summary>Total number of parameters.</summary>
    public int Count { get; }
    public int EOffset { get; }
    public int AOffset { get; }
    public int WrOffset { get; }
    public int WcOffset { get; }
    public MlpLayout RowLayout { get; }
    public MlpLayout ColumnLayout { get; }
    public Mlp RowMlp { get; }
    public Mlp ColumnMlp { get; }

    /// <summary>Approximate floating-point operations of one <see cref="Evaluate"/> call.</summary>
    public double FlopsPerEvaluation
    {
        get
        {
            double Mlp(MlpLayout m, int batch) => Enumerable.Range(0, m.Layers).Sum(k => 6.0 * batch * m.Sizes[k] * m.Sizes[k + 1]);
            // The L x N x P products: the auxiliary task's residual and dA (and dE when E moves), three per active branch.
            var products = (Options.Alpha > 0 ? (EndmembersFree ? 3 : 2) : 0) + (Options.RowBranchActive ? 3 : 0) + (Options.ColumnBranch ? 3 : 0);
            var linear = 2.0 * L * N * P * products;
            return linear + (Options.Nonlinear ? (Options.RowBranchActive ? Mlp(RowLayout, L) : 0) + (Options.ColumnBranch ? Mlp(ColumnLayout, N) : 0) : 0);
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
    /// always zero (the row branch while E is fixed, the MLPs of a linear model) or whose steps are zero (a fixed E)
    /// would be left unchanged by every update, so it is left out: on the default fit the row branch's 2.3 million
    /// parameters (its MLP's output layer has N columns) cost more than all the others together.
    /// </summary>
    public IReadOnlyList<(int Start, int Length, StepBounds Bounds)> Groups()
    {
        var o = Options;
        var groups = new List<(int, int, StepBounds)>();
        if (EndmembersFree) groups.Add((EOffset, L * P, o.EndmemberSteps));
        groups.Add((AOffset, P * N, o.AbundanceSteps));
        if (o.RowBranchActive)
        {
            groups.Add((WrOffset, P * N, o.LinearSteps));
            if (o.Nonlinear) groups.Add((RowLayout.WeightOffsets[0], WcOffset - RowLayout.WeightOffsets[0], o.NetworkSteps));
        }
        if (o.ColumnBranch)
        {
            groups.Add((WcOffset, L * P, o.LinearSteps));
            if (o.Nonlinear) groups.Add((ColumnLayout.WeightOffsets[0], Count - ColumnLayout.WeightOffsets[0], o.NetworkSteps));
        }
        return groups;
    }

    /// <summary>Loss at <paramref name="theta"/>, and its gradient written into <paramref name="grad"/>.</summary>
    public double Evaluate(ReadOnlySpan<float> theta, Span<float> grad)
    {
        var o = Options;
        // Only the groups that move are cleared and written (see Groups); the rest of grad is left as it is.
        foreach (var (start, length, _) in Groups()) grad.Slice(start, length).Clear();
        var e = theta.Slice(EOffset, L * P);
        var a = theta.Slice(AOffset, P * N);
        var dE = grad.Slice(EOffset, L * P);
        var dA = grad.Slice(AOffset, P * N);
        var c = 1.0 / ((double)L * N);
        double loss = 0;

        // Auxiliary NMF task: α‖EA − Y‖²/LN.
        if (o.Alpha > 0)
        {
            _y.CopyTo(_ra, 0);
            _blas.Gemm(false, false, L, N, P, 1f, e, P, a, N, -1f, _ra, N);
            loss += o.Alpha * c * SumSquares(_ra);
            var g = (float)(2 * o.Alpha * c);
            if (EndmembersFree) _blas.Gemm(false, true, L, P, N, g, _ra, N, a, N, 1f, dE, P);
            _blas.Gemm(true, false, P, N, L, g, e, P, _ra, N, 1f, dA, N);
        }

        // Row branch: Y ≈ E W_r + G_r(E), one batch of L rows. It acts on the outputs only through E.
        if (o.RowBranchActive)
        {
            var wr = theta.Slice(WrOffset, P * N);
            if (o.Nonlinear)
            {
                RowMlp.Forward(theta, e, L, _rowWs);
                _rowWs.Output.AsSpan(0, L * N).CopyTo(_rr);
            }
            else Array.Clear(_rr);
            Subtract(_rr, _y);
            _blas.Gemm(false, false, L, N, P, 1f, e, P, wr, N, 1f, _rr, N);
            loss += c * SumSquares(_rr);
            Scale(_rr, (float)(2 * c));
            _blas.Gemm(true, false, P, N, L, 1f, e, P, _rr, N, 1f, grad.Slice(WrOffset, P * N), N);
            _blas.Gemm(false, true, L, P, N, 1f, _rr, N, wr, N, 1f, dE, P);
            if (o.Nonlinear) RowMlp.Backward(theta, e, L, _rowWs, _rr, grad, dE, accumulateInputGrad: true);
        }

        // Column branch: Yᵀ ≈ Aᵀ W_cᵀ + G_c(Aᵀ), one batch of N pixels.
        if (o.ColumnBranch)
        {
            var wc = theta.Slice(WcOffset, L * P);
            Transpose(a, P, N, _at);
            if (o.Nonlinear)
            {
                ColumnMlp.Forward(theta, _at, N, _colWs);
                _colWs.Output.AsSpan(0, N * L).CopyTo(_rc);
            }
            else Array.Clear(_rc);
            Subtract(_rc, _yt);
            _blas.Gemm(false, true, N, L, P, 1f, _at, P, wc, P, 1f, _rc, L);
            loss += c * SumSquares(_rc);
            Scale(_rc, (float)(2 * c));
            _blas.Gemm(true, false, L, P, N, 1f, _rc, L, _at, P, 1f, grad.Slice(WcOffset, L * P), P);
            _blas.Gemm(false, false, N, P, L, 1f, _rc, L, wc, P, 0f, _dat, P);
            if (o.Nonlinear) ColumnMlp.Backward(theta, _at, N, _colWs, _rc, grad, _dat, accumulateInputGrad: true);
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
            foreach (var (layout, on) in new[] { (RowLayout, o.RowBranchActive), (ColumnLayout, o.ColumnBranch) })
            {
                if (!on) continue;
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

    /// <summary>Starts at the linear solution: W_r = A0, W_c = E0, zero output layers, seeded He hidden layers.</summary>
    public float[] Initialise(ReadOnlySpan<float> e0, ReadOnlySpan<float> a0)
    {
        var theta = new float[Count];
        e0.CopyTo(theta.AsSpan(EOffset, L * P));
        a0.CopyTo(theta.AsSpan(AOffset, P * N));
        a0.CopyTo(theta.AsSpan(WrOffset, P * N));
        e0.CopyTo(theta.AsSpan(WcOffset, L * P));
        var rng = new Rng(Options.Seed);
        foreach (var layout in new[] { RowLayout, ColumnLayout })
            for (var k = 0; k < layout.Layers - 1; k++)
            {
                var std = Math.Sqrt(2.0 / layout.Sizes[k]);
                var w = theta.AsSpan(layout.WeightOffsets[k], layout.Sizes[k] * layout.Sizes[k + 1]);
                for (var i = 0; i < w.Length; i++) w[i] = (float)(std * rng.NextGaussian());
            }
        return theta;
    }

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
