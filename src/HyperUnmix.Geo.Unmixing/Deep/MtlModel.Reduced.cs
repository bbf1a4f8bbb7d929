namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>The apply's objective, reduced once per model (see <see cref="MtlModel.ReducedObjective"/>).</summary>
public sealed partial class MtlModel
{
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
        /// <summary>
        /// Raᵀ (P x rank, row-major), for the gradient's 2 Raᵀ u: the same values, stored as the left operand is read
        /// fastest (rows contiguous; `bench apply-shapes`: 57 against 46 GFLOP/s).
        /// </summary>
        public required float[] RaT { get; init; }
        /// <summary>
        /// t = C0 − Bᵀ yn: Bᵀ (rank x L, row-major: rows contiguous, 67 against 58 GFLOP/s stored as B), C0 (rank).
        /// </summary>
        public required float[] Bt { get; init; }
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
        // The thin QR first: A = Q R with R d x d has A's singular values, so the rank comes from R's (a d x d SVD
        // without vectors, where A's own 2L x d one took 4-13 ms of each of a fit's held-out checks). The vectors
        // (a 2L x 2L U) only when A is rank-deficient and R must come from them.
        // With fewer rows than columns (few bands, a wide last hidden layer) A cannot have full column rank, and has no
        // thin QR: straight to the SVD.
        var qr = 2 * l >= d ? a.QR(MathNet.Numerics.LinearAlgebra.Factorization.QRMethod.Thin) : null;
        var sigma = (qr?.R ?? a).Svd(computeVectors: false).S;
        var rank = 0;
        while (rank < sigma.Count && sigma[rank] > sigma[0] * 1e-6) rank++;
        // With full column rank, the QR gives the same ‖R z + t‖² with R triangular: about half the products.
        var triangular = rank == d;
        MathNet.Numerics.LinearAlgebra.Matrix<double> basis, factor;
        if (triangular)
        {
            basis = qr!.Q;
            factor = qr.R;
        }
        else
        {
            var svd = a.Svd(computeVectors: true);
            sigma = svd.S;
            basis = svd.U;
            factor = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rank, d, (i, k) => sigma[i] * svd.VT[i, k]);
        }
        var rx = new float[rank * h];
        var ra = new float[rank * p];
        var bt = new float[rank * l];
        var c0 = new float[rank];
        for (var i = 0; i < rank; i++)
        {
            for (var k = 0; k < h; k++) rx[i * h + k] = (float)factor[i, k];
            for (var j = 0; j < p; j++) ra[i * p + j] = (float)factor[i, h + j];
            double c = 0;
            for (var b = 0; b < l; b++)
            {
                c += basis[b, i] * bOut[b];
                bt[i * l + b] = (float)(basis[b, i] + sqa * basis[l + b, i]);
            }
            c0[i] = (float)c;
        }
        var raT = new float[p * rank];
        for (var i = 0; i < rank; i++)
            for (var j = 0; j < p; j++) raT[j * rank + i] = ra[i * p + j];
        return new ReducedObjective { Layout = layout, Theta = theta, Rank = rank, Triangular = triangular, Hidden = h, Rx = rx, Ra = ra, RaT = raT, Bt = bt, C0 = c0 };
    }
}
