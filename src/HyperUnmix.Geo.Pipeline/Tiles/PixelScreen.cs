using System.Numerics;
using System.Runtime.InteropServices;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// The screening's per-pixel rules applied to every tile as it is read, the same rules the sample was screened with
/// (<see cref="BandScreen"/>): a pixel 0 in every band is a fill value, and in a scene known to be reflectance a pixel
/// outside [<see cref="BandScreen.ReflectanceMin"/>, <see cref="BandScreen.ReflectanceMax"/>] in more than half its
/// bands is corrupt; both become nodata. Their cost is measured by <c>bench unmix</c> against the FCLS run.
/// </summary>
internal static class PixelScreen
{
    /// <summary>Pixels as read: <see cref="Pixels"/> x <see cref="Bands"/> samples in <see cref="Layout"/>, and their valid flags.</summary>
    public readonly ref struct ReadPixels
    {
        public required ReadOnlySpan<float> Y { get; init; }
        public required BufferLayout Layout { get; init; }
        public required int Pixels { get; init; }
        public required int Bands { get; init; }
        public required Span<byte> Valid { get; init; }
    }

    /// <summary>
    /// Clears the valid flags of the pixels the rules reject (the non-physical rule only when <paramref name="reflectance"/>,
    /// on values times <paramref name="scale"/>); returns how many it cleared.
    /// </summary>
    public static int Apply(in ReadPixels px, bool reflectance, float scale) =>
        DropZeroPixels(px) + (reflectance ? DropNonPhysicalPixels(px, scale) : 0);

    /// <summary>
    /// Pixels that are 0 in every band (fill values of real products) become nodata. A pixel whose first band is not 0
    /// costs one comparison.
    /// </summary>
    public static int DropZeroPixels(in ReadPixels px)
    {
        ReadOnlySpan<float> y = px.Y;
        Span<byte> valid = px.Valid;
        var (layout, m, bands) = (px.Layout, px.Pixels, px.Bands);
        var dropped = 0;
        for (var k = 0; k < m; k++)
        {
            if (valid[k] == 0) continue;
            var zero = true;
            for (var b = 0; b < bands && zero; b++) zero = (layout == BufferLayout.PixelInterleaved ? y[k * bands + b] : y[b * m + k]) == 0;
            if (!zero) continue;
            valid[k] = 0;
            dropped++;
        }
        return dropped;
    }

    /// <summary>
    /// Pixels non-physical in most bands (<see cref="BandScreen.IsNonPhysical"/>, the same float arithmetic) become
    /// nodata. Counted a vector at a time: along the pixel's bands when they are contiguous (pixel-interleaved), across
    /// pixels band by band otherwise.
    /// </summary>
    public static int DropNonPhysicalPixels(in ReadPixels px, float scale)
    {
        ReadOnlySpan<float> y = px.Y;
        Span<byte> valid = px.Valid;
        var (layout, m, bands) = (px.Layout, px.Pixels, px.Bands);
        var dropped = 0;
        if (layout == BufferLayout.PixelInterleaved)
        {
            for (var k = 0; k < m; k++)
            {
                if (valid[k] == 0 || !NonPhysical(y.Slice(k * bands, bands), scale)) continue;
                valid[k] = 0;
                dropped++;
            }
            return dropped;
        }
        // A strip fits on the stack; a whole tile (read through GDAL) takes a pooled buffer.
        int[]? pooled = m <= 4096 ? null : System.Buffers.ArrayPool<int>.Shared.Rent(m);
        var outside = pooled is null ? stackalloc int[m] : pooled.AsSpan(0, m);
        outside.Clear();
        var lo = new Vector<float>(BandScreen.ReflectanceMin);
        var hi = new Vector<float>(BandScreen.ReflectanceMax);
        var s = new Vector<float>(scale);
        var w = Vector<float>.Count;
        var counts = MemoryMarshal.Cast<int, Vector<int>>(outside);
        for (var b = 0; b < bands; b++)
        {
            var row = y.Slice(b * m, m);
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(row);
            for (var i = 0; i < vectors.Length; i++)
            {
                var v = vectors[i] * s;
                // A true lane is all ones (-1): subtracting it counts one.
                counts[i] -= Vector.AsVectorInt32(Vector.LessThan(v, lo) | Vector.GreaterThan(v, hi));
            }
            for (var k = vectors.Length * w; k < m; k++)
            {
                var v = row[k] * scale;
                if (v < BandScreen.ReflectanceMin || v > BandScreen.ReflectanceMax) outside[k]++;
            }
        }
        for (var k = 0; k < m; k++)
        {
            if (valid[k] == 0 || outside[k] * 2 <= bands) continue;
            valid[k] = 0;
            dropped++;
        }
        if (pooled is not null) System.Buffers.ArrayPool<int>.Shared.Return(pooled);
        return dropped;
    }

    /// <summary>
    /// Whether more than half of <paramref name="values"/> lie outside the reflectance range once scaled
    /// (<see cref="BandScreen.IsNonPhysical"/>). Stops once half the bands are known to lie inside (NaN counts as
    /// inside, as there): the rest cannot change the answer, and for a normal pixel that halves the work.
    /// </summary>
    private static bool NonPhysical(ReadOnlySpan<float> values, float scale)
    {
        var lo = new Vector<float>(BandScreen.ReflectanceMin);
        var hi = new Vector<float>(BandScreen.ReflectanceMax);
        var s = new Vector<float>(scale);
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
        int n = values.Length, w = Vector<float>.Count, outside = 0, seen = 0;
        const int Chunk = 4;
        for (var i = 0; i < vectors.Length; i += Chunk)
        {
            var acc = Vector<int>.Zero;
            var end = Math.Min(vectors.Length, i + Chunk);
            for (var j = i; j < end; j++)
            {
                var v = vectors[j] * s;
                // A true lane is all ones (-1): subtracting it counts one.
                acc -= Vector.AsVectorInt32(Vector.LessThan(v, lo) | Vector.GreaterThan(v, hi));
            }
            outside += Vector.Sum(acc);
            seen += (end - i) * w;
            if ((seen - outside) * 2 >= n) return false;
        }
        for (var b = vectors.Length * w; b < n; b++)
        {
            var v = values[b] * scale;
            if (v < BandScreen.ReflectanceMin || v > BandScreen.ReflectanceMax) outside++;
        }
        return outside * 2 > n;
    }
}
