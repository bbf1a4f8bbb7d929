using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Solvers;

/// <summary>How each pixel's overall brightness (illumination, shading, slope) is separated from its composition.</summary>
public enum PixelScale
{
    /// <summary>None: the linear mixing model as it is, y ≈ E a.</summary>
    None,
    /// <summary>
    /// The scaled (extended) mixing model y ≈ s E a with a per-pixel scale s ≥ 0: for FCLS, min over a on the
    /// simplex and s ≥ 0 of ‖y − s E a‖, which is NNLS (b = s a ≥ 0) followed by a = b / Σb. The endmembers keep
    /// their scale, so abundances stay fractions of the endmembers as given (dark materials are not inflated).
    /// </summary>
    Sum,
    /// <summary>Unit-length pixels: solve for y / ‖y‖ (give unit-length endmembers); the residual is scaled back by ‖y‖.</summary>
    Length,
}

/// <summary>Abundance estimators for a fixed endmember set.</summary>
public enum LinearMethod
{
    /// <summary>Unconstrained least squares.</summary>
    Ucls,
    /// <summary>Sum-to-one constrained least squares.</summary>
    Scls,
    /// <summary>Non-negative least squares.</summary>
    Nnls,
    /// <summary>Fully constrained least squares (non-negative and sum-to-one).</summary>
    Fcls,
}

/// <summary>
/// Solves a tile of pixels at once, in chunks of 1024 pixels that stay in cache: a GEMM forms EᵀY in double,
/// each pixel then needs only its own small exact solve (closed form for UCLS/SCLS, active set for NNLS/FCLS) on
/// the shared, prepared (EᵀE)⁻¹ or EᵀE, and a second GEMM reconstructs EA for the residual. Thread-safe: instances hold no mutable state; scratch
/// comes from the caller's <see cref="TileScratch"/>.
/// </summary>
public sealed class AbundanceSolver(EndmemberSet endmembers, LinearMethod method, IBlas? blas = null, PixelScale scale = PixelScale.None)
{
    // By default every product runs in a fixed order (ReproducibleBlas): a pixel's abundances must not depend on the
    // chunk it shares, the thread or the CPU. Another back-end may be given (tests run the same checks on each).
    private readonly IBlas _blas = blas ?? ReproducibleBlas.Instance;

    public EndmemberSet Endmembers { get; } = endmembers;
    public LinearMethod Method { get; } = method;
    public PixelScale Scale { get; } = scale;

    /// <summary>
    /// Unmixes a band-sequential tile <paramref name="y"/> (L x N) into <paramref name="abundances"/> (P x N,
    /// band-sequential) and per-pixel residual RMSE (N). Pixels with <paramref name="valid"/>[n] == 0 get
    /// <paramref name="noData"/> everywhere.
    /// </summary>
    /// <returns>The total number of active-set iterations (a cost indicator).</returns>
    /// <param name="pixelScale">Optional: each pixel's scale s (Σb for <see cref="PixelScale.Sum"/>, ‖y‖ for <see cref="PixelScale.Length"/>, 1 otherwise).</param>
    public long SolveTile(ReadOnlySpan<float> y, int pixels, ReadOnlySpan<byte> valid, Span<float> abundances, Span<float> residual,
        float noData, TileScratch scratch, Span<float> pixelScale = default)
    {
        int l = Endmembers.Bands, p = Endmembers.Count, n = pixels;
        if (y.Length < l * n) throw new ArgumentException($"tile holds {y.Length} samples, expected {l}x{n}");
        if (abundances.Length < p * n || residual.Length < n) throw new ArgumentException("output buffers are too small");
        scratch.Ensure(l, p, n);
        Span<double> a = stackalloc double[p];
        Span<double> b = stackalloc double[p];
        var work = scratch.ActiveSet;
        long iterations = 0;
        var gram = Endmembers.Gram;
        // Everything per chunk of pixels, in double, while the chunk is in cache: EᵀY (the normal equations square
        // E's condition number, so a float product would cost digits the float32 data itself still has), the
        // solves, then EA and the residual.
        var yChunk = scratch.Chunk;
        var eTy = scratch.ETy;
        var aChunk = scratch.Abundances;
        var recon = scratch.Reconstruction;
        var acc = scratch.Accumulator;
        for (var start = 0; start < n; start += TileScratch.ChunkPixels)
        {
            var m = Math.Min(TileScratch.ChunkPixels, n - start);
            for (var band = 0; band < l; band++)
            {
                var src = y.Slice(band * n + start, m);
                var dst = yChunk.AsSpan(band * m, m);
                for (var k = 0; k < m; k++) dst[k] = src[k];
            }
            var lengths = scratch.Lengths;
            if (Scale == PixelScale.Length)
            {
                // ‖y‖ over bands in a fixed order, then unit-length pixels.
                Array.Clear(lengths, 0, m);
                for (var band = 0; band < l; band++)
                {
                    var row = yChunk.AsSpan(band * m, m);
                    for (var k = 0; k < m; k++) lengths[k] += row[k] * row[k];
                }
                for (var k = 0; k < m; k++) lengths[k] = Math.Sqrt(lengths[k]);
                for (var band = 0; band < l; band++)
                {
                    var row = yChunk.AsSpan(band * m, m);
                    for (var k = 0; k < m; k++) row[k] = lengths[k] > 0 ? row[k] / lengths[k] : 0;
                }
            }
            _blas.Gemm(true, false, p, m, l, 1.0, Endmembers.E, p, yChunk, m, 0.0, eTy, m);
            for (var k = 0; k < m; k++)
            {
                if (valid[start + k] == 0)
                {
                    for (var j = 0; j < p; j++) aChunk[j * m + k] = 0;
                    continue;
                }
                for (var j = 0; j < p; j++) b[j] = eTy[j * m + k];
                switch (Method)
                {
                    case LinearMethod.Ucls:
                        MultiplyGramInverse(b, a);
                        break;
                    case LinearMethod.Scls:
                        SolveScls(b, a);
                        break;
                    case LinearMethod.Nnls:
                        iterations += ActiveSet.Solve(gram, b, false, a, work);
                        break;
                    case LinearMethod.Fcls when Scale == PixelScale.Sum:
                        // The scaled model: NNLS gives b = s a; its sum is the pixel's scale (kept for the residual).
                        iterations += ActiveSet.Solve(gram, b, false, a, work);
                        break;
                    default:
                        iterations += ActiveSet.Solve(gram, b, true, a, work);
                        break;
                }
                for (var j = 0; j < p; j++) aChunk[j * m + k] = a[j];
            }
            _blas.Gemm(false, false, l, m, p, 1.0, Endmembers.E, p, aChunk, m, 0.0, recon, m);
            var scaled = Scale == PixelScale.Sum && Method == LinearMethod.Fcls;
            Array.Clear(acc, 0, m);
            for (var band = 0; band < l; band++)
            {
                var yr = yChunk.AsSpan(band * m, m);
                var rr = recon.AsSpan(band * m, m);
                for (var k = 0; k < m; k++)
                {
                    var d = yr[k] - rr[k];
                    acc[k] += d * d;
                }
            }
            for (var k = 0; k < m; k++)
            {
                var px = start + k;
                if (valid[px] == 0)
                {
                    for (var j = 0; j < p; j++) abundances[j * n + px] = noData;
                    residual[px] = noData;
                    if (!pixelScale.IsEmpty) pixelScale[px] = 0;
                    continue;
                }
                var rms = Math.Sqrt(acc[k] / l);
                double sum = 1;
                if (scaled)
                {
                    sum = 0;
                    for (var j = 0; j < p; j++) sum += aChunk[j * m + k];
                }
                if (scaled && !(sum > 0))
                {
                    // A pixel of zero scale (black, or no endmember fits it at all): composition undefined; say so evenly.
                    for (var j = 0; j < p; j++) abundances[j * n + px] = 1f / p;
                    sum = 0;
                }
                else
                    for (var j = 0; j < p; j++) abundances[j * n + px] = ToFloat(aChunk[j * m + k] / sum);
                if (Scale == PixelScale.Length) { rms *= lengths[k]; sum = lengths[k]; }
                residual[px] = ToFloat(rms);
                if (!pixelScale.IsEmpty) pixelScale[px] = ToFloat(sum);
            }
        }
        return iterations;
    }

    /// <summary>
    /// Saturates at float32's range: unconstrained abundances of a pixel near float's maximum (byte-swapped data)
    /// can exceed it, and a finite pixel must not get an infinite result.
    /// </summary>
    private static float ToFloat(double v) => (float)Math.Clamp(v, -float.MaxValue, float.MaxValue);

    /// <summary>UCLS: a = G⁻¹b.</summary>
    private void MultiplyGramInverse(ReadOnlySpan<double> b, Span<double> a)
    {
        var p = a.Length;
        var gi = Endmembers.GramInverse;
        for (var i = 0; i < p; i++)
        {
            double s = 0;
            for (var j = 0; j < p; j++) s += gi[i * p + j] * b[j];
            a[i] = s;
        }
    }

    /// <summary>SCLS: a = G⁻¹b − G⁻¹1 (1ᵀG⁻¹b − 1) / (1ᵀG⁻¹1).</summary>
    private void SolveScls(ReadOnlySpan<double> b, Span<double> a)
    {
        MultiplyGramInverse(b, a);
        double sum = 0;
        foreach (var v in a) sum += v;
        var k = (sum - 1) / Endmembers.OnesGramInverseOnes;
        for (var i = 0; i < a.Length; i++) a[i] -= Endmembers.GramInverseOnes[i] * k;
    }

}

/// <summary>Per-worker scratch buffers, sized for one chunk of pixels and reused from tile to tile.</summary>
public sealed class TileScratch
{
    /// <summary>Pixels per chunk: 224 bands of 1024 pixels in double is 1.8 MB, cache-sized.</summary>
    public const int ChunkPixels = 1024;

    public double[] Chunk { get; private set; } = [];
    public double[] ETy { get; private set; } = [];
    public double[] Abundances { get; private set; } = [];
    public double[] Reconstruction { get; private set; } = [];
    public double[] Accumulator { get; private set; } = [];
    public double[] ActiveSet { get; private set; } = [];
    public double[] Lengths { get; private set; } = [];

    public void Ensure(int bands, int endmembers, int pixels)
    {
        var chunk = Math.Min(pixels, ChunkPixels);
        if (Chunk.Length < bands * chunk) Chunk = new double[bands * chunk];
        if (Reconstruction.Length < bands * chunk) Reconstruction = new double[bands * chunk];
        if (ETy.Length < endmembers * chunk) ETy = new double[endmembers * chunk];
        if (Abundances.Length < endmembers * chunk) Abundances = new double[endmembers * chunk];
        if (Accumulator.Length < chunk) Accumulator = new double[chunk];
        if (Lengths.Length < chunk) Lengths = new double[chunk];
        var need = Solvers.ActiveSet.ScratchLength(endmembers);
        if (ActiveSet.Length < need) ActiveSet = new double[need];
    }
}
