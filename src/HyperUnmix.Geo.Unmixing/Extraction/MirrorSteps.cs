using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HyperUnmix.Geo.Unmixing.Extraction;

/// <summary>
/// The entropic mirror-descent steps of <see cref="ArchetypalRefinement"/>, four pixels at a time, with an exponential
/// of its own. Math.Exp is one pixel at a time through the C library, and the refinement takes 50 million of them
/// (100 iterations x 10 steps x 10,000 pixels x P = 5): half of the refinement's time. The exponential here is the same
/// arithmetic in every lane and in the scalar tail (Cody-Waite reduction by ln 2, a degree-12 Taylor polynomial by Estrin's scheme,
/// the power of two set in the exponent bits), explicit multiplies and adds with no fused multiply-add, so it gives
/// the same bits on every CPU and instruction set; within two units in the last place of e^x on [−708, 0]
/// (3.1e-16 relative at worst over 200,000 points, MirrorStepsTests).
/// Every sum over pixels is taken in a fixed order (four lane sums, then the tail), whatever the threads.
/// </summary>
internal static class MirrorSteps
{
    private const double Log2E = 1.4426950408889634;
    private const double Ln2Hi = 6.93147180369123816490e-01;
    private const double Ln2Lo = 1.90821492927058770002e-10;
    // 1.5 x 2^52: adding it rounds to an integer, whose value then sits in the low bits.
    private const double Magic = 6755399441055744.0;
    private const double Lowest = -708.0;
    private const double C2 = 1.0 / 2, C3 = 1.0 / 6, C4 = 1.0 / 24, C5 = 1.0 / 120, C6 = 1.0 / 720, C7 = 1.0 / 5040,
        C8 = 1.0 / 40320, C9 = 1.0 / 362880, C10 = 1.0 / 3628800, C11 = 1.0 / 39916800, C12 = 1.0 / 479001600;

    /// <summary>e^x for x ≤ 0 (values below −708 give e^−708, which the steps' products take to zero).</summary>
    public static double ExpNonPositive(double x)
    {
        x = x < Lowest ? Lowest : x;
        var t = x * Log2E + Magic;
        var k = t - Magic;
        var r = x - k * Ln2Hi - k * Ln2Lo;
        // e^r = 1 + r + r² q(r), q = C2 + C3 r + ... + C12 r¹⁰ by Estrin's scheme (pairs, then powers r², r⁴, r⁸):
        // a short chain of dependent operations, so that the exponentials of a step overlap.
        double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
        var b0 = (C2 + C3 * r) + (C4 + C5 * r) * r2;
        var b1 = (C6 + C7 * r) + (C8 + C9 * r) * r2;
        var b2 = (C10 + C11 * r) + C12 * r2;
        var q = (b0 + b1 * r4) + b2 * r8;
        var poly = q * r2 + r + 1.0;
        var scale = BitConverter.Int64BitsToDouble((BitConverter.DoubleToInt64Bits(t) - BitConverter.DoubleToInt64Bits(Magic) + 1023) << 52);
        return poly * scale;
    }

    /// <summary><see cref="ExpNonPositive(double)"/> in each lane, the same operations in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> ExpNonPositive(Vector256<double> x)
    {
        x = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Lowest)), Vector256.Create(Lowest), x);
        var t = x * Vector256.Create(Log2E) + Vector256.Create(Magic);
        var k = t - Vector256.Create(Magic);
        var r = x - k * Vector256.Create(Ln2Hi) - k * Vector256.Create(Ln2Lo);
        var r2 = r * r;
        var r4 = r2 * r2;
        var r8 = r4 * r4;
        var b0 = (Vector256.Create(C2) + Vector256.Create(C3) * r) + (Vector256.Create(C4) + Vector256.Create(C5) * r) * r2;
        var b1 = (Vector256.Create(C6) + Vector256.Create(C7) * r) + (Vector256.Create(C8) + Vector256.Create(C9) * r) * r2;
        var b2 = (Vector256.Create(C10) + Vector256.Create(C11) * r) + Vector256.Create(C12) * r2;
        var q = (b0 + b1 * r4) + b2 * r8;
        var poly = q * r2 + r + Vector256<double>.One;
        var bits = (t.AsInt64() - Vector256.Create(BitConverter.DoubleToInt64Bits(Magic)) + Vector256.Create(1023L)) << 52;
        return poly * bits.AsDouble();
    }

    /// <summary>
    /// a_:,i ← softmax(log a_:,i − η g_:,i) for pixels [from, to) of a P x N row-major A: a step on each pixel's simplex,
    /// taken as a_j e^(−η (g_j − min g)) / Σ (every factor at most 1, no overflow; the entry of the smallest gradient
    /// keeps at least its floor of 1e-300, so no zero sum). Each pixel reads and writes its own column only.
    /// </summary>
    public static void PixelSteps(double[] a, double[] g, double eta, int n, int p, int from, int to)
    {
        var i = from;
        var negEta = Vector256.Create(-eta);
        var floor = Vector256.Create(1e-300);
        for (; i + 4 <= to; i += 4)
        {
            var min = Vector256.Create(double.PositiveInfinity);
            for (var j = 0; j < p; j++) min = Vector256.Min(min, Vector256.LoadUnsafe(ref g[j * n + i]));
            var s = Vector256<double>.Zero;
            for (var j = 0; j < p; j++)
            {
                var gj = Vector256.LoadUnsafe(ref g[j * n + i]);
                var w = Vector256.Max(Vector256.LoadUnsafe(ref a[j * n + i]), floor) * ExpNonPositive(negEta * (gj - min));
                w.StoreUnsafe(ref a[j * n + i]);
                s += w;
            }
            for (var j = 0; j < p; j++) (Vector256.LoadUnsafe(ref a[j * n + i]) / s).StoreUnsafe(ref a[j * n + i]);
        }
        for (; i < to; i++)
        {
            var min = double.PositiveInfinity;
            for (var j = 0; j < p; j++) min = Math.Min(min, g[j * n + i]);
            double s = 0;
            for (var j = 0; j < p; j++) s += a[j * n + i] = Math.Max(a[j * n + i], 1e-300) * ExpNonPositive(-eta * (g[j * n + i] - min));
            for (var j = 0; j < p; j++) a[j * n + i] /= s;
        }
    }

    /// <summary>
    /// The same step along row j of a P x N row-major Bᵀ (endmember j's weights over the pixels): the simplex is over
    /// the pixels, and pixels of zero length (<paramref name="valid"/> 0) keep no weight.
    /// </summary>
    /// <param name="valid">1 for a pixel that may carry weight, 0 for one that may not.</param>
    public static void WeightSteps(double[] bt, double[] g, double eta, int j, int n, double[] valid)
    {
        var row = j * n;
        var min = double.PositiveInfinity;
        var minV = Vector256.Create(double.PositiveInfinity);
        var inf = Vector256.Create(double.PositiveInfinity);
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var ok = Vector256.GreaterThan(Vector256.LoadUnsafe(ref valid[i]), Vector256<double>.Zero);
            minV = Vector256.Min(minV, Vector256.ConditionalSelect(ok, Vector256.LoadUnsafe(ref g[row + i]), inf));
        }
        for (; i < n; i++)
            if (valid[i] > 0) min = Math.Min(min, g[row + i]);
        min = Math.Min(min, Math.Min(Math.Min(minV[0], minV[1]), Math.Min(minV[2], minV[3])));

        var negEta = Vector256.Create(-eta);
        var floor = Vector256.Create(1e-300);
        var minB = Vector256.Create(min);
        var sV = Vector256<double>.Zero;
        i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var w = Vector256.Max(Vector256.LoadUnsafe(ref bt[row + i]), floor) * ExpNonPositive(negEta * (Vector256.LoadUnsafe(ref g[row + i]) - minB))
                    * Vector256.LoadUnsafe(ref valid[i]);
            w.StoreUnsafe(ref bt[row + i]);
            sV += w;
        }
        double s = 0;
        for (; i < n; i++)
        {
            var w = Math.Max(bt[row + i], 1e-300) * ExpNonPositive(-eta * (g[row + i] - min)) * valid[i];
            bt[row + i] = w;
            s += w;
        }
        s = (sV[0] + sV[1]) + (sV[2] + sV[3]) + s;
        var inv = Vector256.Create(s);
        i = 0;
        for (; i + 4 <= n; i += 4) (Vector256.LoadUnsafe(ref bt[row + i]) / inv).StoreUnsafe(ref bt[row + i]);
        for (; i < n; i++) bt[row + i] /= s;
    }
}
