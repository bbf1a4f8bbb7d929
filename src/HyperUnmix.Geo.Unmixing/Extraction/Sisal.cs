using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>SISAL's parameters. The defaults are those of the reference sisal.m (Bioucas-Dias 2009).</summary>
internal sealed record SisalOptions
{
    /// <summary>
    /// Outer iterations (sisal.m's MM_ITERS): each replaces −log|det Q| by its quadratic approximation at the current Q
    /// and solves that problem with a few augmented-Lagrangian steps. All of them run (sisal.m has no early stop).
    /// </summary>
    public int Iterations { get; init; } = 80;

    /// <summary>
    /// Weight of the hinge, the soft constraint that every pixel lies in the simplex (sisal.m's TAU). Larger: pixels
    /// outside cost more and the simplex grows to take in noisy pixels and outliers; smaller: a smaller simplex, less
    /// pulled by noise, that leaves some pixels outside.
    /// </summary>
    public double Tau { get; init; } = 1;

    /// <summary>The augmented Lagrangian's weight (sisal.m's MU); null for sisal.m's default P·1000/N.</summary>
    public double? Mu { get; init; }

    /// <summary>
    /// Whiten the (P−1)-dimensional coordinates before the optimisation (sisal.m's SPHERIZE, on by default there), so
    /// that the data spans the same range along every axis and the steps are equally scaled; undone at the end.
    /// </summary>
    public bool Spherize { get; init; } = true;

    /// <summary>Added to the principal variances before whitening (sisal.m's lam_sphe): keeps a flat axis finite.</summary>
    public double SpherizeRegularization { get; init; } = 1e-8;

    /// <summary>The Hessian term λI of the quadratic approximations (sisal.m's lam_quad).</summary>
    public double HessianRegularization { get; init; } = 1e-6;

    /// <summary>
    /// A starting simplex, L x P row-major (sisal.m's M0), projected onto the pixels' affine subspace and used as it
    /// is; null to start from VCA's endmembers, expanded until they contain the data.
    /// </summary>
    public double[]? Start { get; init; }
}

/// <summary>The outcome of SISAL.</summary>
/// <param name="Endmembers">L x P row-major (e[b * P + j] is band b of endmember j), in the data's band space and scale.</param>
/// <param name="NearestPixels">For each endmember, the pixel with the smallest spectral angle to it (ties: the first).</param>
/// <param name="Iterations">Outer iterations run.</param>
/// <param name="AugmentedLagrangianSteps">Inner steps (quadratic solve, hinge, multiplier update) run over all iterations.</param>
/// <param name="Objective">The final −log|det Q| + τ Σ max(−QY, 0), in the coordinates SISAL works in.</param>
/// <param name="Hinge">The final Σ max(−QY, 0): how far, summed over pixels and endmembers, pixels lie outside the simplex (abundance units, before τ).</param>
/// <param name="VcaPixels">The pixels of VCA, the start.</param>
/// <param name="VcaSnrDb">VCA's SNR estimate.</param>
internal sealed record SisalResult(double[] Endmembers, int Bands, int Count, int[] NearestPixels, int Iterations,
    int AugmentedLagrangianSteps, double Objective, double Hinge, int[] VcaPixels, double VcaSnrDb);

/// <summary>
/// SISAL, simplex identification via split augmented Lagrangian (Bioucas-Dias 2009, "A variable splitting augmented
/// Lagrangian approach to linear spectral unmixing", WHISPERS), after the reference sisal.m. It finds the
/// minimum-volume simplex containing the pixels, so its vertices need not be pixels: it recovers endmembers from
/// scenes without pure pixels, where VCA and N-FINDR, which pick pixels, stop short of the vertices.
/// <para>
/// The pixels are projected onto their (P−1)-dimensional principal affine subspace, written in P homogeneous
/// coordinates Y (optionally whitened), and SISAL solves, for Q = M⁻¹ (each row of Q Y a pixel's abundances of one
/// endmember),  min −log|det Q| + τ Σ max(−Q Y, 0)  subject to 1ᵀQ = q_mᵀ (sum to one). Each outer iteration
/// replaces −log|det Q| by its quadratic approximation at the current Q and runs the ADMM on the split Z = Q Y: a
/// constrained quadratic step in Q (closed form: a P² x P² matrix built once), the hinge's proximal step on Z
/// (one-sided soft threshold), the multiplier update; a step that raises the true objective is halved back towards
/// the iteration's start. Starts from VCA's endmembers, spread out until the simplex contains the data.
/// </para>
/// Deterministic: the P x N products are sequential loops; only VCA and the projection use the BLAS, as VCA does.
/// </summary>
internal static class Sisal
{
    /// <summary>ADMM steps + 1 per pass in an outer iteration (sisal.m's AL_iters), and in the last one.</summary>
    private const int AlIters = 4, LastAlIters = 100;

    /// <summary>Safeguards sisal.m does without: passes of an outer iteration, halvings of its line search.</summary>
    private const int MaxPasses = 1000, MaxHalvings = 60;

    /// <param name="y">L x N row-major samples (one column per pixel).</param>
    /// <param name="seed">VCA's seed (the start).</param>
    /// <param name="axes">The pixels' eigen-decompositions when the caller shares them (<see cref="PrincipalAxes"/>).</param>
    public static SisalResult Extract(double[] y, int l, int n, int p, long seed, SisalOptions? options = null, IBlas? blas = null,
        PrincipalAxes? axes = null, CancellationToken cancel = default)
    {
        options ??= new SisalOptions();
        blas ??= Blas.Default;
        if (p < 1) throw new ArgumentOutOfRangeException(nameof(p), p, "the number of endmembers must be at least 1");
        if (p > l) throw new ArgumentOutOfRangeException(nameof(p), p, $"P = {p} is larger than the band count {l}");
        if (n < p) throw new ArgumentException($"SISAL needs at least P = {p} valid pixels, got {n}");
        if (y.Length < (long)l * n) throw new ArgumentException($"y has {y.Length} values, fewer than L x N = {l} x {n}", nameof(y));
        if (options.Iterations < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Iterations, "SISAL needs at least one iteration");
        if (!(options.Tau > 0)) throw new ArgumentOutOfRangeException(nameof(options), options.Tau, "tau must be positive");
        if (options.Mu is { } m0 && !(m0 > 0)) throw new ArgumentOutOfRangeException(nameof(options), m0, "mu must be positive");

        axes = PrincipalAxes.For(axes, y, l, n, blas);
        var (mean, centred, u) = axes.Centred;
        if (p == 1)
        {
            // The 0-dimensional affine set: the mean (what sisal.m returns for P = 1, without the iterations).
            var e1 = (double[])mean.Clone();
            return new SisalResult(e1, l, 1, NearestPixels(y, l, n, e1, 1), 0, 0, 0, 0, [], double.NaN);
        }

        var d = p - 1;
        var ud = Dense.LeadingColumns(u, l, d);
        var z = Dense.Project(blas, ud, centred, l, n, d);
        var frame = new Frame(ud, mean, l, d, z, n, options);

        // Homogeneous coordinates of the pixels: x = [affine coordinates; h].
        var yc = new double[p * n];
        for (var k = 0; k < d; k++)
            for (var i = 0; i < n; i++) yc[k * n + i] = frame.Coordinate(k, z[k * n + i]);
        Array.Fill(yc, frame.Homogeneous, d * n, n);

        VcaResult? vca = null;
        Matrix<double> m;
        if (options.Start is { } start)
        {
            if (start.Length != l * p) throw new ArgumentException($"the starting simplex has {start.Length} values, not L x P = {l} x {p}", nameof(options));
            m = frame.ToCoordinates(start);
        }
        else
        {
            vca = Vca.Extract(y, l, n, p, seed, blas: blas, axes: axes);
            m = frame.ToCoordinates(vca.Endmembers);
            // sisal.m's expansion: each vertex moved P times its distance from the vertices' centroid, away from it,
            // so that the start contains the data (the homogeneous row is constant: unchanged).
            for (var k = 0; k < p; k++)
            {
                double c = 0;
                for (var j = 0; j < p; j++) c += m[k, j];
                c /= p;
                for (var j = 0; j < p; j++) m[k, j] += p * (m[k, j] - c);
            }
        }
        cancel.ThrowIfCancellationRequested();
        var det0 = m.Determinant();
        if (!double.IsFinite(det0) || det0 == 0)
            throw new ArgumentException($"the starting {p} endmembers span fewer than {d} dimensions: the pixels do not support P = {p}");

        var run = new Admm(yc, p, n, options, options.Mu ?? p * 1000.0 / n, cancel);
        var q = run.Solve(m.Inverse());
        var mq = q.Inverse();
        var e = frame.ToBands(mq);
        return new SisalResult(e, l, p, NearestPixels(y, l, n, e, p), options.Iterations, run.Steps, run.Objective(q), run.HingeOf(q), vca?.PixelIndices ?? [], vca?.SnrDb ?? double.NaN);
    }

    /// <summary>
    /// sisal.m's coordinates: the data's affine subspace, mean + U_d z (z the principal coordinates), written as P
    /// homogeneous coordinates. Without whitening: [z + U_dᵀ m; h], h = ‖m − U_d U_dᵀ m‖ the mean's component off the
    /// axes (sisal.m's extra direction my_ortho / h); with it: [z_k / √(λ_k + λ_sphe); 1] / √P, λ_k the principal variances.
    /// </summary>
    private sealed class Frame
    {
        private readonly double[] _ud, _mean, _scale, _offset, _ortho;
        private readonly int _l, _d;
        private readonly bool _spherize;

        /// <summary>The homogeneous coordinate every pixel has.</summary>
        public double Homogeneous { get; }

        public Frame(double[] ud, double[] mean, int l, int d, double[] z, int n, SisalOptions o)
        {
            _ud = ud; _mean = mean; _l = l; _d = d; _spherize = o.Spherize;
            var p = d + 1;
            _scale = new double[d];
            _offset = new double[d];
            _ortho = new double[l];
            if (_spherize)
            {
                for (var k = 0; k < d; k++)
                {
                    double s = 0;
                    for (var i = 0; i < n; i++) s += z[k * n + i] * z[k * n + i];
                    // λ_k = zₖᵀzₖ / N: the eigenvalue of the centred pixels' covariance along axis k.
                    _scale[k] = 1 / Math.Sqrt(s / n + o.SpherizeRegularization) / Math.Sqrt(p);
                }
                Homogeneous = 1 / Math.Sqrt(p);
            }
            else
            {
                Array.Fill(_scale, 1.0);
                for (var k = 0; k < d; k++)
                    for (var b = 0; b < l; b++) _offset[k] += ud[b * d + k] * mean[b];
                double h = 0, mm = 0;
                for (var b = 0; b < l; b++)
                {
                    double along = 0;
                    for (var k = 0; k < d; k++) along += ud[b * d + k] * _offset[k];
                    _ortho[b] = mean[b] - along;
                    h += _ortho[b] * _ortho[b];
                    mm += mean[b] * mean[b];
                }
                h = Math.Sqrt(h);
                // A mean (nearly) on the axes leaves sisal.m's extra direction undefined; 1 keeps the coordinates homogeneous.
                Homogeneous = h > 1e-8 * Math.Sqrt(mm) && h > 0 ? h : 1;
            }
        }

        /// <summary>Coordinate k of a point with principal coordinate <paramref name="zk"/>.</summary>
        public double Coordinate(int k, double zk) => _scale[k] * zk + _offset[k];

        /// <summary>P x P homogeneous coordinates of P spectra (L x P row-major), projected onto the affine subspace.</summary>
        public Matrix<double> ToCoordinates(double[] e)
        {
            var p = _d + 1;
            var m = Matrix<double>.Build.Dense(p, p);
            for (var j = 0; j < p; j++)
            {
                for (var k = 0; k < _d; k++)
                {
                    double s = 0;
                    for (var b = 0; b < _l; b++) s += _ud[b * _d + k] * (e[b * p + j] - _mean[b]);
                    m[k, j] = Coordinate(k, s);
                }
                m[_d, j] = Homogeneous;
            }
            return m;
        }

        /// <summary>The spectra (L x P row-major) of P points given in homogeneous coordinates (columns of <paramref name="m"/>).</summary>
        public double[] ToBands(Matrix<double> m)
        {
            var p = _d + 1;
            var e = new double[_l * p];
            var a = new double[_d];
            for (var j = 0; j < p; j++)
            {
                // Whitened: mean + U_d z; the homogeneous row (1/√P by the constraint) is dropped, as in sisal.m.
                // Not: sisal.m's Up * M, i.e. U_d x + (my_ortho / h) x_P, the mean's part along the axes being in x.
                if (_spherize)
                {
                    for (var k = 0; k < _d; k++) a[k] = m[k, j] / _scale[k];
                    for (var b = 0; b < _l; b++)
                    {
                        var v = _mean[b];
                        for (var k = 0; k < _d; k++) v += _ud[b * _d + k] * a[k];
                        e[b * p + j] = v;
                    }
                }
                else
                {
                    var w = m[_d, j] / Homogeneous;
                    for (var b = 0; b < _l; b++)
                    {
                        var v = _ortho[b] * w;
                        for (var k = 0; k < _d; k++) v += _ud[b * _d + k] * m[k, j];
                        e[b * p + j] = v;
                    }
                }
            }
            return e;
        }
    }

    /// <summary>
    /// The outer quadratic approximations and the inner ADMM of sisal.m, on P x N homogeneous coordinates. The pixels,
    /// Z and the multipliers are held pixel by pixel (N x P) so that one sequential pass per ADMM step does Q Y, the
    /// hinge's step, the multiplier update and the next step's (Z + B) Yᵀ.
    /// </summary>
    private sealed class Admm
    {
        private readonly double[] _y, _z, _bk;
        private readonly int _p, _n;
        private readonly double _tau, _mu, _lamQuad;
        private readonly int _iterations;
        private readonly double[] _g, _qmAux; // P² x P² row-major, P²
        private readonly CancellationToken _cancel;

        /// <summary>ADMM steps run so far.</summary>
        public int Steps { get; private set; }

        /// <param name="y">P x N row-major homogeneous coordinates.</param>
        public Admm(double[] y, int p, int n, SisalOptions o, double mu, CancellationToken cancel)
        {
            _p = p; _n = n; _tau = o.Tau; _mu = mu; _lamQuad = o.HessianRegularization; _iterations = o.Iterations;
            _cancel = cancel;
            _y = new double[n * p];
            for (var k = 0; k < p; k++)
                for (var i = 0; i < n; i++) _y[i * p + k] = y[k * n + i];
            _z = new double[n * p];
            _bk = new double[n * p];

            // Y Yᵀ and Y 1, sequential sums.
            var yyt = Matrix<double>.Build.Dense(p, p);
            var rowSums = Vector<double>.Build.Dense(p);
            for (var a = 0; a < p; a++)
            {
                double s = 0;
                for (var i = 0; i < n; i++) s += y[a * n + i];
                rowSums[a] = s;
                for (var b = a; b < p; b++)
                {
                    double t = 0;
                    for (var i = 0; i < n; i++) t += y[a * n + i] * y[b * n + i];
                    yyt[a, b] = t;
                    yyt[b, a] = t;
                }
            }
            // q_m = (Y Yᵀ)⁻¹ Y 1: the row with q_mᵀ Y = 1ᵀ (sisal.m's sum(inv(Y*Y')*Y, 2)); 1ᵀQ = q_mᵀ makes Q Y sum to one.
            var qm = yyt.Inverse() * rowSums;
            // With q = vec(Q) (column-major, MATLAB's Q(:)): F = λI + μ (Y Yᵀ ⊗ I), B = I ⊗ 1ᵀ (B q = Qᵀ1), and
            // the constrained minimiser of ½qᵀFq − bᵀq is G b + G₁ q_m, G₁ = F⁻¹Bᵀ(BF⁻¹Bᵀ)⁻¹, G = F⁻¹ − G₁BF⁻¹.
            var pp = p * p;
            var f = Matrix<double>.Build.Dense(pp, pp, (r, c) => (r % p == c % p ? mu * yyt[r / p, c / p] : 0) + (r == c ? _lamQuad : 0));
            var bm = Matrix<double>.Build.Dense(p, pp, (r, c) => c / p == r ? 1 : 0);
            var iF = f.Inverse();
            var g1 = iF * bm.Transpose() * (bm * iF * bm.Transpose()).Inverse();
            _qmAux = (g1 * qm).ToArray();
            _g = (iF - g1 * bm * iF).ToRowMajorArray();
        }

        /// <summary>sisal.m's main loop from Q₀; the final Q.</summary>
        public Matrix<double> Solve(Matrix<double> q)
        {
            int p = _p, pp = p * p;
            // Z = Q₀Y, B = 0, and S = (Z + B) Yᵀ, which the next quadratic step needs (as a P x P array, column-major).
            var s = new double[pp];
            var qr = q.ToRowMajorArray();
            for (var i = 0; i < _n; i++)
            {
                var yi = _y.AsSpan(i * p, p);
                for (var r = 0; r < p; r++)
                {
                    double v = 0;
                    for (var c = 0; c < p; c++) v += qr[r * p + c] * yi[c];
                    _z[i * p + r] = v;
                    for (var c = 0; c < p; c++) s[c * p + r] += v * yi[c];
                }
            }
            Array.Clear(_bk);
            var b = new double[pp];
            for (var k = 0; k < _iterations; k++)
            {
                _cancel.ThrowIfCancellationRequested();
                // The quadratic model of −log|det Q| at Q₀: gradient g = −vec(Q₀⁻ᵀ), Hessian λI; baux = λ q₀ − g.
                var q0 = q.Clone();
                var q0v = q0.ToColumnMajorArray();
                var g = q0.Inverse().Transpose().ToColumnMajorArray();
                for (var t = 0; t < pp; t++) g[t] = -g[t];
                var baux = new double[pp];
                for (var t = 0; t < pp; t++) baux[t] = _lamQuad * q0v[t] - g[t];
                var alIters = k == _iterations - 1 ? LastAlIters : AlIters;
                for (var pass = 0; ; pass++)
                {
                    var hinge0 = HingeOf(q);
                    var f0Val = -Math.Log(Math.Abs(q.Determinant())) + _tau * hinge0;
                    var f0Quad = Quadratic(q.ToColumnMajorArray(), q0v, g) + _tau * hinge0;
                    var hinge = hinge0;
                    for (var i = 1; i < alIters; i++)
                    {
                        // The constrained quadratic step: q = G (baux + μ vec((Z + B) Yᵀ)) + G₁ q_m ((10), (11) of [1]).
                        for (var t = 0; t < pp; t++) b[t] = baux[t] + _mu * s[t];
                        var qv = new double[pp];
                        for (var r = 0; r < pp; r++)
                        {
                            var v = 0.0;
                            for (var c = 0; c < pp; c++) v += _g[r * pp + c] * b[c];
                            qv[r] = v + _qmAux[r];
                        }
                        q = Matrix<double>.Build.Dense(p, p, qv); // column-major: MATLAB's reshape(q, p, p)
                        hinge = Step(q, s);
                        Steps++;
                    }
                    var fQuad = Quadratic(q.ToColumnMajorArray(), q0v, g) + _tau * hinge;
                    var fVal = -Math.Log(Math.Abs(q.Determinant())) + _tau * hinge;
                    if (f0Quad >= fQuad || pass == MaxPasses - 1)
                    {
                        // The quadratic model decreased: halve the step back towards Q₀ while the true objective rose.
                        for (var h = 0; h < MaxHalvings && f0Val < fVal; h++)
                        {
                            q = (q + q0) / 2;
                            fVal = Objective(q);
                        }
                        break;
                    }
                }
            }
            return q;
        }

        /// <summary>
        /// One pass over the pixels after a quadratic step to Q: Z = soft₋(QY − B, τ/μ) (the hinge's proximal step),
        /// B ← B − (QY − Z), and S = (Z + B) Yᵀ for the next step; returns Σ max(−QY, 0).
        /// </summary>
        private double Step(Matrix<double> q, double[] s)
        {
            int p = _p;
            var qr = q.ToRowMajorArray();
            var threshold = _tau / _mu;
            Array.Clear(s);
            double hinge = 0;
            for (var i = 0; i < _n; i++)
            {
                var yi = _y.AsSpan(i * p, p);
                var zi = _z.AsSpan(i * p, p);
                var bi = _bk.AsSpan(i * p, p);
                for (var r = 0; r < p; r++)
                {
                    double v = 0;
                    for (var c = 0; c < p; c++) v += qr[r * p + c] * yi[c];
                    if (v < 0) hinge -= v;
                    var z = SoftNeg(v - bi[r], threshold);
                    zi[r] = z;
                    var bk = bi[r] - (v - z);
                    bi[r] = bk;
                    var w = z + bk;
                    for (var c = 0; c < p; c++) s[c * p + r] += w * yi[c];
                }
            }
            return hinge;
        }

        /// <summary>−log|det Q| + τ Σ max(−QY, 0).</summary>
        public double Objective(Matrix<double> q) => -Math.Log(Math.Abs(q.Determinant())) + _tau * HingeOf(q);

        /// <summary>Σ max(−QY, 0).</summary>
        public double HingeOf(Matrix<double> q)
        {
            int p = _p;
            var qr = q.ToRowMajorArray();
            double hinge = 0;
            for (var i = 0; i < _n; i++)
            {
                var yi = _y.AsSpan(i * p, p);
                for (var r = 0; r < p; r++)
                {
                    double v = 0;
                    for (var c = 0; c < p; c++) v += qr[r * p + c] * yi[c];
                    if (v < 0) hinge -= v;
                }
            }
            return hinge;
        }

        /// <summary>(q − q₀)ᵀ g + ½ λ ‖q − q₀‖²: the quadratic model's part for −log|det Q|.</summary>
        private double Quadratic(double[] q, double[] q0, double[] g)
        {
            double lin = 0, sq = 0;
            for (var t = 0; t < q.Length; t++)
            {
                var d = q[t] - q0[t];
                lin += d * g[t];
                sq += d * d;
            }
            return lin + 0.5 * _lamQuad * sq;
        }

        /// <summary>The proximal operator of t·max(−x, 0) (sisal.m's soft_neg): x ≥ 0 stays, x ≤ −t moves up by t, between goes to 0.</summary>
        private static double SoftNeg(double x, double t) => x >= 0 ? x : x <= -t ? x + t : 0;
    }

    /// <summary>For each endmember, the pixel with the smallest spectral angle to it (the largest cosine).</summary>
    internal static int[] NearestPixels(double[] y, int l, int n, double[] e, int p)
    {
        var norms = ArchetypalRefinement.PixelNorms(y, l, n);
        var result = new int[p];
        var dots = new double[n];
        for (var j = 0; j < p; j++)
        {
            Array.Clear(dots);
            for (var b = 0; b < l; b++)
            {
                var w = e[b * p + j];
                for (var i = 0; i < n; i++) dots[i] += w * y[b * n + i];
            }
            var best = 0;
            var bestCos = double.NegativeInfinity;
            for (var i = 0; i < n; i++)
            {
                if (norms[i] <= 0) continue;
                var cos = dots[i] / norms[i];
                if (cos > bestCos) { bestCos = cos; best = i; }
            }
            result[j] = best;
        }
        return result;
    }
}
