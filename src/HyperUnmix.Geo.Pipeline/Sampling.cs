using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Valid pixels gathered for model-order estimation and endmember extraction.</summary>
/// <param name="Y">L x N row-major.</param>
/// <param name="Positions">Scene position (row * width + col) of each column.</param>
public sealed record PixelSample(double[] Y, int Bands, int Count, bool Exhaustive, long[] Positions)
{
    /// <summary>A subset of the columns, evenly spread over the sample's order (which follows the scene's cells).</summary>
    public PixelSample Subset(int max)
    {
        if (Count <= max) return this;
        var idx = Enumerable.Range(0, max).Select(i => (int)((long)i * Count / max)).ToArray();
        var y = new double[Bands * max];
        for (var b = 0; b < Bands; b++)
            for (var k = 0; k < max; k++) y[b * max + k] = Y[b * Count + idx[k]];
        return new PixelSample(y, Bands, max, false, idx.Select(i => Positions[i]).ToArray());
    }
}

/// <summary>
/// Reads every valid pixel of a small area, or a spatially stratified random sample of a large one: the area is
/// cut into cells and the same number of random positions is drawn in each, so every part of the scene is seen.
/// The sample depends only on the area, the seed and the size, never on tiles or threads.
/// </summary>
public static class Sampling
{
    public static PixelSample Read(RasterSource source, Window area, RegionOfInterest? roi, int[] bands, double scale, int maxPixels, long seed)
    {
        var l = bands.Length;
        var columns = new List<float[]>();
        var positions = new List<long>();
        long width = source.Info.Width;
        if (area.Area <= maxPixels)
        {
            var plan = new TilePlan(area, 256, 256);
            foreach (var tile in plan.Tiles())
            {
                var w = tile.Window;
                var n = (int)w.Area;
                var buf = new float[l * n];
                var valid = new byte[n];
                source.Read(w, bands, buf, valid);
                roi?.Mask(w, valid);
                for (var p = 0; p < n; p++)
                {
                    if (valid[p] == 0) continue;
                    var col = new float[l];
                    for (var b = 0; b < l; b++) col[b] = buf[b * n + p];
                    columns.Add(col);
                    positions.Add((w.RowOff + p / w.Width) * width + w.ColOff + p % w.Width);
                }
            }
            return Pack(columns, positions, l, scale, exhaustive: true);
        }

        var rng = new Rng(seed);
        const int perCell = 4;
        var cells = Math.Max(1, maxPixels / perCell);
        var cellSide = Math.Max(1, (int)Math.Sqrt((double)area.Area / cells));
        var grid = new TilePlan(area, cellSide, cellSide);
        var pixel = new float[l];
        var one = new byte[1];
        foreach (var cell in grid.Tiles())
        {
            var w = cell.Window;
            for (var k = 0; k < perCell; k++)
            {
                var c = w.ColOff + rng.Next(w.Width);
                var r = w.RowOff + rng.Next(w.Height);
                var pw = new Window(c, r, 1, 1);
                if (source.Read(pw, bands, pixel, one) == 0) continue;
                if (roi is not null && roi.Mask(pw, one) == 0) continue;
                columns.Add((float[])pixel.Clone());
                positions.Add(r * width + c);
            }
        }
        return Pack(columns, positions, l, scale, exhaustive: false);
    }

    private static PixelSample Pack(List<float[]> columns, List<long> positions, int l, double scale, bool exhaustive)
    {
        var n = columns.Count;
        var y = new double[l * n];
        for (var p = 0; p < n; p++)
            for (var b = 0; b < l; b++) y[b * n + p] = columns[p][b] * scale;
        return new PixelSample(y, l, n, exhaustive, positions.ToArray());
    }
}
