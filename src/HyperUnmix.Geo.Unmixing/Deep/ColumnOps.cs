using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HyperUnmix.Geo.Unmixing.Deep;

/// <summary>
/// Element-wise steps of the deep apply, vectorised across pixels. Each lane computes exactly what the scalar loop
/// would (same comparisons, same float-to-double widening, same order of additions per pixel), so the vector width
/// changes the speed, never a bit of the result; and there are no data-dependent branches (ReLU signs are random).
/// </summary>
internal static class ColumnOps
{
    /// <summary>acc += x, element by element.</summary>
    public static void Add(Span<float> acc, ReadOnlySpan<float> x)
    {
        if (x.Length < acc.Length) throw new ArgumentException("source shorter than the accumulator");
        var i = 0;
        var w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i + w <= acc.Length; i += w) (new Vector<float>(acc.Slice(i, w)) + new Vector<float>(x.Slice(i, w))).CopyTo(acc.Slice(i, w));
        for (; i < acc.Length; i++) acc[i] += x[i];
    }

    /// <summary>to = from x factor.</summary>
    public static void Scale(Span<float> to, ReadOnlySpan<float> from, float factor)
    {
        if (from.Length < to.Length) throw new ArgumentException("source shorter than the destination");
        var i = 0;
        var w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i + w <= to.Length; i += w) (new Vector<float>(from.Slice(i, w)) * factor).CopyTo(to.Slice(i, w));
        for (; i < to.Length; i++) to[i] = from[i] * factor;
    }

    /// <summary>x = x &lt; 0 ? 0 : x.</summary>
    public static void Relu(Span<float> x)
    {
        var i = 0;
        ref var x0 = ref MemoryMarshal.GetReference(x);
        if (Vector.IsHardwareAccelerated)
            for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
            {
                ref var at = ref Unsafe.Add(ref x0, i);
                var v = Vector.LoadUnsafe(ref at);
                Vector.ConditionalSelect(Vector.LessThan(v, Vector<float>.Zero), Vector<float>.Zero, v).StoreUnsafe(ref at);
            }
        for (; i < x.Length; i++) if (x[i] < 0) x[i] = 0;
    }

    /// <summary>to = act &lt;= 0 ? 0 : from (the gradient through a ReLU whose output was act).</summary>
    public static void MaskRelu(Span<float> to, ReadOnlySpan<float> from, ReadOnlySpan<float> act)
    {
        var n = to.Length;
        if (from.Length < n || act.Length < n) throw new ArgumentException("spans shorter than the destination");
        var i = 0;
        ref var t0 = ref MemoryMarshal.GetReference(to);
        ref var f0 = ref MemoryMarshal.GetReference(from);
        ref var a0 = ref MemoryMarshal.GetReference(act);
        if (Vector.IsHardwareAccelerated)
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                var a = Vector.LoadUnsafe(ref Unsafe.Add(ref a0, i));
                var f = Vector.LoadUnsafe(ref Unsafe.Add(ref f0, i));
                Vector.ConditionalSelect(Vector.LessThanOrEqual(a, Vector<float>.Zero), Vector<float>.Zero, f).StoreUnsafe(ref Unsafe.Add(ref t0, i));
            }
        for (; i < n; i++) to[i] = act[i] <= 0 ? 0 : from[i];
    }

    /// <summary>acc[i] += (double)x[i]², or ((double)x[i] − y[i])² when <paramref name="minus"/> is given.</summary>
    public static void AddSquares(Span<double> acc, ReadOnlySpan<float> x, ReadOnlySpan<float> minus = default)
    {
        var n = acc.Length;
        var diff = !minus.IsEmpty;
        if (x.Length < n || (diff && minus.Length < n)) throw new ArgumentException("spans shorter than the accumulator");
        var i = 0;
        ref var c0 = ref MemoryMarshal.GetReference(acc);
        ref var x0 = ref MemoryMarshal.GetReference(x);
        ref var y0 = ref MemoryMarshal.GetReference(minus);
        var w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i + w <= n; i += w)
            {
                var v = Vector.LoadUnsafe(ref Unsafe.Add(ref x0, i));
                if (diff) v -= Vector.LoadUnsafe(ref Unsafe.Add(ref y0, i));
                Vector.Widen(v, out var lo, out var hi);
                ref var c = ref Unsafe.Add(ref c0, i);
                (Vector.LoadUnsafe(ref c) + lo * lo).StoreUnsafe(ref c);
                ref var c2 = ref Unsafe.Add(ref c, w / 2);
                (Vector.LoadUnsafe(ref c2) + hi * hi).StoreUnsafe(ref c2);
            }
        for (; i < n; i++)
        {
            double d = diff ? x[i] - minus[i] : x[i];
            acc[i] += d * d;
        }
    }
}

/// <summary>
/// The projected-gradient step of the deep apply for a batch of pixels: trial = Π(a − step g), Π the Euclidean
/// projection onto the probability simplex, vectorised across pixels. Without sorting: for each entry i, its rank
/// in decreasing order (ties by index) and the sum of the entries ranked up to it give Duchi et al.'s threshold
/// candidate t_i = (S_i − 1) / rank_i; θ is the candidate of the largest rank with v_i − t_i &gt; 0. In double, in
/// a fixed order, the same in every lane and in the scalar tail, so a pixel's result does not depend on where it falls.
/// </summary>
internal static class SimplexStep
{
    /// <summary>The step of a model's apply batch: from its accepted abundances along its gradient into its trial.</summary>
    public static void Run(MtlModel.Workspace ws) => Run(ws.Trial, ws.At, ws.Grad, ws.Step, ws.At.Length / ws.Batch, ws.Pixels);

    public static void Run(Span<float> trial, ReadOnlySpan<float> at, ReadOnlySpan<float> grad, ReadOnlySpan<float> step, int p, int m)
    {
        if (trial.Length < p * m || at.Length < p * m || grad.Length < p * m || step.Length < m) throw new ArgumentException("spans shorter than P x pixels");
        var wf = Vector<float>.Count;
        var wd = Vector<double>.Count;
        var px = 0;
        if (Vector.IsHardwareAccelerated && p <= 64)
        {
            Span<Vector<double>> lo = stackalloc Vector<double>[p];
            Span<Vector<double>> hi = stackalloc Vector<double>[p];
            for (; px + wf <= m; px += wf)
            {
                var s = new Vector<float>(step.Slice(px, wf));
                for (var j = 0; j < p; j++)
                {
                    var v = new Vector<float>(at.Slice(j * m + px, wf)) - s * new Vector<float>(grad.Slice(j * m + px, wf));
                    Vector.Widen(v, out lo[j], out hi[j]);
                }
                var tlo = Threshold(lo);
                var thi = Threshold(hi);
                for (var j = 0; j < p; j++)
                {
                    var a = Positive(lo[j] - tlo);
                    var b = Positive(hi[j] - thi);
                    Vector.Narrow(a, b).CopyTo(trial.Slice(j * m + px, wf));
                }
            }
            _ = wd;
        }
        Span<double> col = stackalloc double[p];
        for (; px < m; px++)
        {
            for (var j = 0; j < p; j++) col[j] = at[j * m + px] - step[px] * grad[j * m + px];
            var theta = Threshold(col);
            for (var j = 0; j < p; j++) { var x = col[j] - theta; trial[j * m + px] = (float)(x > 0 ? x : 0); }
        }
    }

    private static Vector<double> Positive(Vector<double> x) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<double>.Zero), x, Vector<double>.Zero);

    private static Vector<double> Threshold(ReadOnlySpan<Vector<double>> v)
    {
        var p = v.Length;
        var one = Vector<double>.One;
        var bestRank = Vector<double>.Zero;
        var theta = Vector<double>.Zero;
        for (var i = 0; i < p; i++)
        {
            var vi = v[i];
            var rank = Vector<double>.Zero;
            var sum = Vector<double>.Zero;
            for (var j = 0; j < p; j++)
            {
                var vj = v[j];
                // Ranked at or above i: larger, or equal with an index not after i.
                var above = j <= i ? Vector.GreaterThanOrEqual(vj, vi) : Vector.GreaterThan(vj, vi);
                rank += Vector.ConditionalSelect(above, one, Vector<double>.Zero);
                sum += Vector.ConditionalSelect(above, vj, Vector<double>.Zero);
            }
            var t = (sum - one) / rank;
            var take = Vector.BitwiseAnd(Vector.GreaterThan(vi - t, Vector<double>.Zero), Vector.GreaterThan(rank, bestRank));
            bestRank = Vector.ConditionalSelect(take, rank, bestRank);
            theta = Vector.ConditionalSelect(take, t, theta);
        }
        return theta;
    }

    private static double Threshold(ReadOnlySpan<double> v)
    {
        var p = v.Length;
        double bestRank = 0, theta = 0;
        for (var i = 0; i < p; i++)
        {
            var vi = v[i];
            double rank = 0, sum = 0;
            for (var j = 0; j < p; j++)
            {
                var vj = v[j];
                var above = j <= i ? vj >= vi : vj > vi;
                rank += above ? 1 : 0;
                sum += above ? vj : 0;
            }
            var t = (sum - 1) / rank;
            if (vi - t > 0 && rank > bestRank) { bestRank = rank; theta = t; }
        }
        return theta;
    }
}
