using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Valid pixels gathered for model-order estimation and endmember extraction.</summary>
/// <param name="Y">L x N row-major.</param>
internal sealed record PixelSample(double[] Y, int Bands, int Count, bool Exhaustive)
{
    /// <summary>A subset of the columns, evenly spread over the sample's order (which follows the scene's cells).</summary>
    public PixelSample Subset(int max)
    {
        if (Count <= max) return this;
        var idx = Enumerable.Range(0, max).Select(i => (int)((long)i * Count / max)).ToArray();
        var y = new double[Bands * max];
        for (var b = 0; b < Bands; b++)
            for (var k = 0; k < max; k++) y[b * max + k] = Y[b * Count + idx[k]];
        return new PixelSample(y, Bands, max, false);
    }
}

/// <summary>
/// Reads every valid pixel of a small area, or a spatially stratified random sample of a large one: the area is
/// cut into cells and the same number of random positions is drawn in each, so every part of the scene is seen.
/// The sample depends only on the area, the seed and the size, never on tiles or threads.
/// </summary>
internal static class Sampling
{
    /// <summary>The valid pixels (every band valid) of the sample, scaled by <paramref name="scale"/>.</summary>
    public static PixelSample Read(RasterSource source, Window area, RegionOfInterest? roi, int[] bands, double scale, int maxPixels, long seed) =>
        ReadRaw(source, area, roi, bands, maxPixels, seed).Pixels(Enumerable.Range(0, bands.Length).ToArray(), scale, dropZeroPixels: false);

    /// <summary>
    /// The sample's pixels with every band's samples and their own validity (<see cref="RasterSource.ReadSamples"/>):
    /// what band screening looks at before deciding which pixels are valid.
    /// </summary>
    internal static RawSample ReadRaw(RasterSource source, Window area, RegionOfInterest? roi, int[] bands, int maxPixels, long seed)
    {
        var sample = new RawSample(bands, area.Area <= maxPixels);
        if (area.Area > maxPixels) return ReadCells(source, area, roi, bands, maxPixels, seed, sample, source.Info.Width);
        foreach (var tile in new TilePlan(area, 256, 256).Tiles()) AddWindow(source, tile.Window, roi, sample);
        return sample;
    }

    /// <summary>
    /// For screening alone: windows of 8 x 8 pixels at the centres of a 4 x 4 grid over the area (1,024 pixels), read
    /// with a few positioned reads per band, or one 32 x 32 window through GDAL. Random single pixels would cost more
    /// than a linear run itself on band-separated or compressed files.
    /// </summary>
    internal static RawSample ReadSpread(RasterSource source, Window area, RegionOfInterest? roi, int[] bands)
    {
        var sample = new RawSample(bands, exhaustive: false);
        IEnumerable<Window> windows;
        if (source.ReadsFileDirectly)
            windows = new TilePlan(area, Math.Max(1, (area.Width + 3) / 4), Math.Max(1, (area.Height + 3) / 4)).Tiles().Select(cell =>
            {
                var c = cell.Window;
                int ww = Math.Min(8, c.Width), wh = Math.Min(8, c.Height);
                return new Window(c.ColOff + (c.Width - ww) / 2, c.RowOff + (c.Height - wh) / 2, ww, wh);
            });
        else
        {
            // Through GDAL (compressed files), each window costs a decoded block per band: one 32 x 32 window inside
            // the block at the area's centre.
            var (bw, bh) = source.Info.BlockSize;
            int cx = area.ColOff + area.Width / 2, cy = area.RowOff + area.Height / 2;
            int x0 = Math.Max(area.ColOff, cx / Math.Max(1, bw) * bw), y0 = Math.Max(area.RowOff, cy / Math.Max(1, bh) * bh);
            windows = [new Window(x0, y0, Math.Min(32, area.ColOff + area.Width - x0), Math.Min(32, area.RowOff + area.Height - y0))];
        }
        foreach (var w in windows) AddWindow(source, w, roi, sample);
        return sample;
    }

    /// <summary>Adds a window's pixels (inside the ROI, with at least one valid sample) to the sample.</summary>
    private static void AddWindow(RasterSource source, Window w, RegionOfInterest? roi, RawSample sample)
    {
        int l = sample.Bands.Length, n = (int)w.Area;
        long width = source.Info.Width;
        var buf = new float[l * n];
        var ok = new byte[l * n];
        var inside = new byte[n];
        source.ReadSamples(w, sample.Bands, buf, ok);
        inside.AsSpan().Fill(1);
        roi?.Mask(w, inside);
        var values = new float[l];
        var flags = new byte[l];
        for (var p = 0; p < n; p++)
        {
            if (inside[p] == 0) continue;
            for (var b = 0; b < l; b++) (values[b], flags[b]) = (buf[b * n + p], ok[b * n + p]);
            if (flags.AsSpan().Contains((byte)1)) sample.Add(values, flags);
        }
    }

    private static RawSample ReadCells(RasterSource source, Window area, RegionOfInterest? roi, int[] bands, int maxPixels, long seed, RawSample sample, long width)
    {
        var l = bands.Length;
        var rng = new Rng(seed);
        const int perCell = 4;
        var cells = Math.Max(1, maxPixels / perCell);
        var cellSide = Math.Max(1, (int)Math.Sqrt((double)area.Area / cells));
        var grid = new TilePlan(area, cellSide, cellSide);
        var pixel = new float[l];
        var valid = new byte[l];
        var one = new byte[1];
        foreach (var cell in grid.Tiles())
        {
            var w = cell.Window;
            for (var k = 0; k < perCell; k++)
            {
                var c = w.ColOff + rng.Next(w.Width);
                var r = w.RowOff + rng.Next(w.Height);
                var pw = new Window(c, r, 1, 1);
                source.ReadSamples(pw, bands, pixel, valid);
                if (!valid.AsSpan().Contains((byte)1)) continue;
                one[0] = 1;
                if (roi is not null && roi.Mask(pw, one) == 0) continue;
                sample.Add(pixel, valid);
            }
        }
        return sample;
    }
}

/// <summary>Sampled pixels with every requested band's value and its own validity, in sampling order.</summary>
internal sealed class RawSample(int[] bands, bool exhaustive)
{
    private readonly List<float[]> _values = [];
    private readonly List<byte[]> _valid = [];
    /// <summary>Per pixel: 0 in every valid sample (a fill value), decided once when it is added.</summary>
    private readonly List<bool> _fill = [];

    /// <summary>The 0-based file bands read.</summary>
    public int[] Bands { get; } = bands;
    /// <summary>Every pixel of the area was read (not a random sample).</summary>
    public bool Exhaustive { get; } = exhaustive;
    /// <summary>Pixels with at least one valid sample.</summary>
    public int Count => _values.Count;

    public void Add(ReadOnlySpan<float> values, ReadOnlySpan<byte> valid)
    {
        _stats = null;
        _values.Add(values.ToArray());
        _valid.Add(valid.ToArray());
        var fill = true;
        for (var q = 0; q < values.Length && fill; q++) fill = valid[q] == 0 || values[q] == 0;
        _fill.Add(fill);
    }

    /// <summary>
    /// Band <paramref name="q"/> (an index into <see cref="Bands"/>): how many pixels hold a valid value, and its range
    /// over the pixels that are not fill (0 in every valid sample), which would make a constant band look varied.
    /// </summary>
    public (int Valid, float Min, float Max) Stats(int q)
    {
        _stats ??= AllStats();
        return _stats[q];
    }

    private (int Valid, float Min, float Max)[]? _stats;

    /// <summary>
    /// Every band's statistics in one pass over the pixels, each pixel's bands in order: a pass per band would walk
    /// every pixel's array once per band (224 passes over 18 MB for a 20,000-pixel sample: 140 ms).
    /// </summary>
    private (int Valid, float Min, float Max)[] AllStats()
    {
        var l = Bands.Length;
        var count = new int[l];
        var min = new float[l];
        var max = new float[l];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        for (var p = 0; p < _values.Count; p++)
        {
            if (_fill[p]) continue;
            var values = _values[p];
            var valid = _valid[p];
            for (var q = 0; q < l; q++)
            {
                if (valid[q] == 0) continue;
                count[q]++;
                min[q] = Math.Min(min[q], values[q]);
                max[q] = Math.Max(max[q], values[q]);
            }
        }
        var stats = new (int, float, float)[l];
        for (var q = 0; q < l; q++) stats[q] = (count[q], min[q], max[q]);
        return stats;
    }

    /// <summary>Pixels valid in every kept band (<paramref name="keep"/>, indices into <see cref="Bands"/>) and 0 in all of them.</summary>
    public int ZeroPixels(int[] keep) => Enumerable.Range(0, Count).Count(p => keep.All(q => _valid[p][q] != 0 && _values[p][q] == 0));

    /// <summary>Pixels valid in every kept band and non-physical in most of them (<see cref="BandScreen.IsNonPhysical"/>) once scaled.</summary>
    public int NonPhysicalPixels(int[] keep, double scale) =>
        Enumerable.Range(0, Count).Count(p => keep.All(q => _valid[p][q] != 0) && NonPhysical(p, keep, scale));

    private bool NonPhysical(int p, int[] keep, double scale)
    {
        Span<float> v = keep.Length <= 1024 ? stackalloc float[keep.Length] : new float[keep.Length];
        for (var b = 0; b < keep.Length; b++) v[b] = _values[p][keep[b]];
        return BandScreen.IsNonPhysical(v, 0, 1, keep.Length, (float)scale);
    }

    /// <summary>
    /// The sample of the kept bands: pixels valid in every kept band (and, with <paramref name="dropZeroPixels"/>, not
    /// 0 in all of them; with <paramref name="dropNonPhysical"/>, not non-physical reflectance), L x N, scaled by
    /// <paramref name="scale"/>.
    /// </summary>
    public PixelSample Pixels(int[] keep, double scale, bool dropZeroPixels, bool dropNonPhysical = false)
    {
        var chosen = new List<int>();
        for (var p = 0; p < Count; p++)
        {
            var ok = true;
            var zero = true;
            foreach (var q in keep)
            {
                ok &= _valid[p][q] != 0;
                zero &= _values[p][q] == 0;
            }
            if (ok && !(dropZeroPixels && zero) && !(dropNonPhysical && NonPhysical(p, keep, scale))) chosen.Add(p);
        }
        int l = keep.Length, n = chosen.Count;
        var y = new double[l * n];
        for (var k = 0; k < n; k++)
            for (var b = 0; b < l; b++) y[b * n + k] = _values[chosen[k]][keep[b]] * scale;
        return new PixelSample(y, l, n, Exhaustive);
    }
}
