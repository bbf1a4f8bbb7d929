using System.Numerics;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using MathNet.Numerics.Distributions;

namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>One pixel's MESMA result.</summary>
/// <param name="Model">Index into the model table, or -1 when no model meets the constraints.</param>
/// <param name="Fractions">The model's library fractions, in the model's spectrum order.</param>
internal readonly record struct MesmaPixel(int Model, double[] Fractions, double Shade, double Rmse);

/// <summary>
/// MESMA with photometric shade (the shade endmember is the zero spectrum, so a model is y ≈ Σ fᵢ eᵢ with no sum
/// constraint and shade = 1 − Σ fᵢ), every model fitted by unconstrained least squares and kept only when its
/// fractions, shade and RMSE meet the constraints (VIPER Tools' procedure).
/// <para>
/// Order of work: the library's inner products with a chunk of pixels, b = E y, are one GEMM
/// (<see cref="ReproducibleBlas"/>: each product summed in band order whatever the chunk); each model's fit is then
/// x = (E_Iᵀ E_I)⁻¹ b_I from its precomputed inverse (k ≤ 4) and its residual ‖y‖² − b_Iᵀ x, in double. So a model
/// costs k² + k multiply-adds per pixel instead of the L k² of a least-squares solve on the spectra. The loop runs
/// over models outside and pixels inside, vectorised across pixels (the same operations in every lane and in the
/// scalar tail, no fused multiply-add: a pixel's result does not depend on its chunk).
/// </para>
/// Level rule: the lowest level with a valid model is taken, and each higher level's best replaces it when its RMSE
/// is lower by at least <see cref="MesmaSettings.MinRmseGain"/> (or, with <see cref="MesmaSettings.FTestAlpha"/>,
/// when the drop in squared error is significant in an F-test against the higher model's residual).
/// </summary>
internal sealed class MesmaSolver
{
    public const int ChunkPixels = 256;
    private readonly MesmaModels _m;
    private readonly double[] _e;
    private readonly double[] _fCritical;

    public MesmaSolver(MesmaModels models)
    {
        _m = models;
        _e = new double[models.S * models.L];
        for (var i = 0; i < models.S; i++) Array.Copy(models.Spectra[i], 0, _e, i * models.L, models.L);
        // F critical values for each pair of levels (lower q, higher r): dof (k_r - k_q, L - k_r).
        var lv = models.Levels;
        _fCritical = new double[lv.Length * lv.Length];
        if (models.Settings.FTestAlpha is { } alpha)
            for (var q = 0; q < lv.Length; q++)
                for (var r = q + 1; r < lv.Length; r++)
                    _fCritical[q * lv.Length + r] = FisherSnedecor.InvCDF(lv[r] - lv[q], models.L - lv[r], 1 - alpha);
    }

    public MesmaModels Models => _m;

    /// <summary>Per-thread buffers.</summary>
    public sealed class Scratch
    {
        internal double[] Y = [];
        internal double[] B = [];
        internal double[] YY = new double[ChunkPixels];
        internal double[] BestSse = [];
        internal int[] BestModel = [];
    }

    /// <summary>A tile's pixels for <see cref="Solve"/> and where its results go.</summary>
    public readonly ref struct Buffers
    {
        /// <summary>The pixels, band-sequential float (L x N), already in reflectance.</summary>
        public required ReadOnlySpan<float> Y { get; init; }
        public required int Pixels { get; init; }
        /// <summary>Per pixel: 0 = not solved (model -1).</summary>
        public required ReadOnlySpan<byte> Valid { get; init; }
        /// <summary>Each pixel's chosen model (-1: none fits).</summary>
        public required Span<int> Model { get; init; }
        /// <summary>Squared error of the chosen model.</summary>
        public required Span<double> Sse { get; init; }
        /// <summary>
        /// Optional, when <see cref="MesmaSettings.UncertaintyRmse"/> is set: over the valid models of the chosen level
        /// whose RMSE is within that of the best, the standard deviation of each class's fraction (0 where the class is
        /// not in a model) at [c * N + k], and their count at [C * N + k].
        /// </summary>
        public Span<double> Spread { get; init; }
    }

    /// <summary>Solves the buffers' pixels: each pixel's best model by RMSE at the lowest level that fits it.</summary>
    public void Solve(in Buffers t, Scratch s)
    {
        var n = t.Pixels;
        for (var at = 0; at < n; at += ChunkPixels)
        {
            var chunk = new Chunk(at, Math.Min(ChunkPixels, n - at));
            SolveChunk(t, chunk, s);
            if (_m.Settings.UncertaintyRmse is not null && !t.Spread.IsEmpty) Spread(t, chunk, s);
        }
    }

    /// <summary>Pixels <see cref="At"/> .. At + <see cref="Count"/> - 1 of a tile.</summary>
    private readonly record struct Chunk(int At, int Count);

    /// <summary>The near-best models' spread for a chunk whose inner products are still in the scratch.</summary>
    private void Spread(in Buffers t, Chunk chunk, Scratch s)
    {
        var (at, n, stride, delta) = (chunk.At, chunk.Count, t.Pixels, _m.Settings.UncertaintyRmse!.Value);
        ReadOnlySpan<int> model = t.Model.Slice(at, n);
        ReadOnlySpan<double> sse = t.Sse.Slice(at, n);
        var spread = t.Spread;
        int L = _m.L, C = _m.ClassNames.Length;
        var st = _m.Settings;
        var maxSse = L * st.MaxRmse * st.MaxRmse;
        Span<double> sum = stackalloc double[C];
        Span<double> sq = stackalloc double[C];
        Span<double> x = stackalloc double[4];
        for (var p = 0; p < n; p++)
        {
            for (var c = 0; c <= C; c++) spread[c * stride + at + p] = double.NaN;
            if (model[p] < 0) continue;
            var k = _m.Level[model[p]];
            var q = Array.IndexOf(_m.Levels, k);
            var limit = Rmse(sse[p], L) + delta;
            limit = L * limit * limit;
            sum.Clear();
            sq.Clear();
            var count = 0;
            for (var mi = _m.LevelStarts[q]; mi < _m.LevelStarts[q + 1]; mi++)
            {
                var idx = _m.Indices.AsSpan(4 * mi, k);
                var inv = _m.Inverses.AsSpan(16 * mi, k * k);
                double c0 = s.B[idx[0] * n + p], c1 = k > 1 ? s.B[idx[1] * n + p] : 0, c2 = k > 2 ? s.B[idx[2] * n + p] : 0, c3 = k > 3 ? s.B[idx[3] * n + p] : 0;
                double fit = 0, total = 0;
                var ok = true;
                for (var a = 0; a < k; a++)
                {
                    x[a] = RowScalar(inv, a, k, c0, c1, c2, c3);
                    var ba = a == 0 ? c0 : a == 1 ? c1 : a == 2 ? c2 : c3;
                    fit = a == 0 ? ba * x[a] : fit + ba * x[a];
                    total = a == 0 ? x[a] : total + x[a];
                    ok &= x[a] >= st.MinFraction && x[a] <= st.MaxFraction;
                }
                var e = s.YY[p] - fit;
                if (!ok || total < 1 - st.MaxShade || total > 1 - st.MinShade || e > maxSse || e > limit) continue;
                count++;
                for (var a = 0; a < k; a++)
                {
                    var c = _m.ClassOf[idx[a]];
                    sum[c] += x[a];
                    sq[c] += x[a] * x[a];
                }
            }
            for (var c = 0; c < C; c++)
            {
                var mean = sum[c] / count;
                spread[c * stride + at + p] = Math.Sqrt(Math.Max(0, sq[c] / count - mean * mean));
            }
            spread[C * stride + at + p] = count;
        }
    }

    private void SolveChunk(in Buffers t, Chunk chunk, Scratch s)
    {
        var (at, n, stride) = (chunk.At, chunk.Count, t.Pixels);
        ReadOnlySpan<float> y = t.Y;
        ReadOnlySpan<byte> valid = t.Valid.Slice(at, n);
        Span<int> model = t.Model.Slice(at, n);
        Span<double> chosenSse = t.Sse.Slice(at, n);
        int L = _m.L, S = _m.S, nl = _m.Levels.Length;
        if (s.Y.Length < L * n) s.Y = new double[L * ChunkPixels];
        if (s.B.Length < S * n) s.B = new double[S * ChunkPixels];
        if (s.BestSse.Length < nl * ChunkPixels) { s.BestSse = new double[nl * ChunkPixels]; s.BestModel = new int[nl * ChunkPixels]; }
        var yd = s.Y.AsSpan(0, L * n);
        for (var l = 0; l < L; l++)
            for (var k = 0; k < n; k++) yd[l * n + k] = y[l * stride + at + k];
        var yy = s.YY.AsSpan(0, n);
        yy.Clear();
        for (var l = 0; l < L; l++)
            for (var k = 0; k < n; k++) { var v = yd[l * n + k]; yy[k] += v * v; }
        // b = E Y: S x n.
        ReproducibleBlas.Instance.Gemm(false, false, S, n, L, 1.0, _e, L, yd, n, 0.0, s.B.AsSpan(0, S * n), n);

        var st = _m.Settings;
        var maxSse = L * st.MaxRmse * st.MaxRmse;
        double minSum = 1 - st.MaxShade, maxSum = 1 - st.MinShade;
        for (var q = 0; q < nl; q++)
        {
            var best = s.BestSse.AsSpan(q * ChunkPixels, n);
            var bestM = s.BestModel.AsSpan(q * ChunkPixels, n);
            best.Fill(double.PositiveInfinity);
            bestM.Fill(-1);
            var k = _m.Levels[q];
            for (var mi = _m.LevelStarts[q]; mi < _m.LevelStarts[q + 1]; mi++)
                FitModel(mi, k, s.B, yy, n, maxSse, minSum, maxSum, st.MinFraction, st.MaxFraction, best, bestM);
        }
        // The level rule.
        for (var p = 0; p < n; p++)
        {
            model[p] = -1;
            chosenSse[p] = double.NaN;
            if (valid[p] == 0) continue;
            var cq = -1;
            for (var q = 0; q < nl; q++)
            {
                var m = s.BestModel[q * ChunkPixels + p];
                if (m < 0) continue;
                var e = s.BestSse[q * ChunkPixels + p];
                if (cq < 0 || Better(cq, q, s.BestSse[cq * ChunkPixels + p], e, L)) cq = q;
            }
            if (cq < 0) continue;
            model[p] = s.BestModel[cq * ChunkPixels + p];
            chosenSse[p] = s.BestSse[cq * ChunkPixels + p];
        }
    }

    /// <summary>Whether level <paramref name="r"/> (squared error <paramref name="sseR"/>) replaces the chosen lower level <paramref name="q"/>.</summary>
    public bool Better(int q, int r, double sseQ, double sseR, int L)
    {
        var st = _m.Settings;
        if (st.FTestAlpha is not null)
        {
            var kr = _m.Levels[r];
            var drop = (sseQ - sseR) / (kr - _m.Levels[q]);
            return drop > 0 && drop > _fCritical[q * _m.Levels.Length + r] * Math.Max(sseR, 0) / (L - kr);
        }
        return Rmse(sseQ, L) - Rmse(sseR, L) >= st.MinRmseGain;
    }

    public static double Rmse(double sse, int bands) => Math.Sqrt(Math.Max(sse, 0) / bands);

    private void FitModel(int mi, int k, double[] b, ReadOnlySpan<double> yy, int n, double maxSse, double minSum, double maxSum,
        double minF, double maxF, Span<double> best, Span<int> bestM)
    {
        var inv = _m.Inverses.AsSpan(16 * mi, k * k);
        var idx = _m.Indices.AsSpan(4 * mi, k);
        ReadOnlySpan<double> b0 = b.AsSpan(idx[0] * n, n), b1 = k > 1 ? b.AsSpan(idx[1] * n, n) : default,
            b2 = k > 2 ? b.AsSpan(idx[2] * n, n) : default, b3 = k > 3 ? b.AsSpan(idx[3] * n, n) : default;
        var w = Vector<double>.Count;
        var p = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vMinF = new Vector<double>(minF);
            var vMaxF = new Vector<double>(maxF);
            for (; p + w <= n; p += w)
            {
                var v0 = new Vector<double>(b0.Slice(p));
                var v1 = k > 1 ? new Vector<double>(b1.Slice(p)) : Vector<double>.Zero;
                var v2 = k > 2 ? new Vector<double>(b2.Slice(p)) : Vector<double>.Zero;
                var v3 = k > 3 ? new Vector<double>(b3.Slice(p)) : Vector<double>.Zero;
                // x = G⁻¹ b, each element summed in column order; bᵀx in member order.
                Vector<double> x0, x1 = default, x2 = default, x3 = default, fit, sum;
                x0 = Row(inv, 0, k, v0, v1, v2, v3);
                fit = v0 * x0;
                sum = x0;
                var ok = Vector.GreaterThanOrEqual(x0, vMinF) & Vector.LessThanOrEqual(x0, vMaxF);
                if (k > 1) { x1 = Row(inv, 1, k, v0, v1, v2, v3); fit += v1 * x1; sum += x1; ok &= Vector.GreaterThanOrEqual(x1, vMinF) & Vector.LessThanOrEqual(x1, vMaxF); }
                if (k > 2) { x2 = Row(inv, 2, k, v0, v1, v2, v3); fit += v2 * x2; sum += x2; ok &= Vector.GreaterThanOrEqual(x2, vMinF) & Vector.LessThanOrEqual(x2, vMaxF); }
                if (k > 3) { x3 = Row(inv, 3, k, v0, v1, v2, v3); fit += v3 * x3; sum += x3; ok &= Vector.GreaterThanOrEqual(x3, vMinF) & Vector.LessThanOrEqual(x3, vMaxF); }
                if (Vector.EqualsAll(ok, Vector<long>.Zero)) continue;
                var sse = new Vector<double>(yy.Slice(p)) - fit;
                var vBest = new Vector<double>(best.Slice(p));
                ok &= Vector.GreaterThanOrEqual(sum, new Vector<double>(minSum)) & Vector.LessThanOrEqual(sum, new Vector<double>(maxSum))
                      & Vector.LessThanOrEqual(sse, new Vector<double>(maxSse)) & Vector.LessThan(sse, vBest);
                if (Vector.EqualsAll(ok, Vector<long>.Zero)) continue;
                Vector.ConditionalSelect(ok, sse, vBest).CopyTo(best.Slice(p));
                for (var j = 0; j < w; j++) if (ok[j] != 0) bestM[p + j] = mi;
            }
        }
        for (; p < n; p++)
        {
            double c0 = b0[p], c1 = k > 1 ? b1[p] : 0, c2 = k > 2 ? b2[p] : 0, c3 = k > 3 ? b3[p] : 0;
            double fit = 0, sum = 0;
            var ok = true;
            for (var a = 0; a < k; a++)
            {
                var x = RowScalar(inv, a, k, c0, c1, c2, c3);
                var ba = a == 0 ? c0 : a == 1 ? c1 : a == 2 ? c2 : c3;
                fit = a == 0 ? ba * x : fit + ba * x;
                sum = a == 0 ? x : sum + x;
                ok &= x >= minF && x <= maxF;
            }
            if (!ok) continue;
            var sse = yy[p] - fit;
            if (sum >= minSum && sum <= maxSum && sse <= maxSse && sse < best[p]) { best[p] = sse; bestM[p] = mi; }
        }
    }

    private static Vector<double> Row(ReadOnlySpan<double> inv, int a, int k, Vector<double> v0, Vector<double> v1, Vector<double> v2, Vector<double> v3)
    {
        var r = v0 * inv[a * k];
        if (k > 1) r += v1 * inv[a * k + 1];
        if (k > 2) r += v2 * inv[a * k + 2];
        if (k > 3) r += v3 * inv[a * k + 3];
        return r;
    }

    private static double RowScalar(ReadOnlySpan<double> inv, int a, int k, double c0, double c1, double c2, double c3)
    {
        var r = c0 * inv[a * k];
        if (k > 1) r += c1 * inv[a * k + 1];
        if (k > 2) r += c2 * inv[a * k + 2];
        if (k > 3) r += c3 * inv[a * k + 3];
        return r;
    }

    /// <summary>
    /// The chosen model's fractions for one pixel, recomputed exactly as the search computed them (the same products
    /// in the same order), from the pixel's spectrum (L values, reflectance; <paramref name="stride"/> apart).
    /// </summary>
    public double[] Fractions(int model, ReadOnlySpan<float> y, int stride, int at)
    {
        var x = new double[_m.Level[model]];
        Fractions(model, y, stride, at, x);
        return x;
    }

    /// <summary>As <see cref="Fractions(int, ReadOnlySpan{float}, int, int)"/>, into <paramref name="x"/> (at least the model's level long): no allocation per pixel.</summary>
    public void Fractions(int model, ReadOnlySpan<float> y, int stride, int at, Span<double> x)
    {
        var k = _m.Level[model];
        var idx = _m.Indices.AsSpan(4 * model, k);
        Span<double> c = stackalloc double[4];
        for (var a = 0; a < k; a++)
        {
            // The GEMM's element: ascending band order, no fused multiply-add.
            double s = 0;
            var e = _e.AsSpan(idx[a] * _m.L, _m.L);
            for (var l = 0; l < _m.L; l++) s += e[l] * (double)y[l * stride + at];
            c[a] = s;
        }
        var inv = _m.Inverses.AsSpan(16 * model, k * k);
        for (var a = 0; a < k; a++) x[a] = RowScalar(inv, a, k, c[0], k > 1 ? c[1] : 0, k > 2 ? c[2] : 0, k > 3 ? c[3] : 0);
    }
}
