using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// A nearest-neighbour thumbnail of an output (at most 400 px on the long side), filled tile by tile during the
/// run so the quick-look needs no second pass over the written raster. Each thumbnail pixel takes exactly one
/// source pixel, so tiles fill disjoint parts and may do so from several threads.
/// </summary>
internal sealed class Preview
{
    private readonly int[] _srcRow, _srcCol;

    public Preview(int width, int height, int bands, int maxSide = 400)
    {
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(width, height));
        Width = Math.Max(1, (int)(width * scale));
        Height = Math.Max(1, (int)(height * scale));
        Bands = bands;
        _srcCol = Enumerable.Range(0, Width).Select(x => Math.Min(width - 1, (int)((x + 0.5) * width / Width))).ToArray();
        _srcRow = Enumerable.Range(0, Height).Select(y => Math.Min(height - 1, (int)((y + 0.5) * height / Height))).ToArray();
        Values = new float[bands * Width * Height];
        Array.Fill(Values, float.NaN);
    }

    public int Width { get; }
    public int Height { get; }
    public int Bands { get; }
    /// <summary>Bands x Height x Width; NaN where nodata.</summary>
    public float[] Values { get; }

    /// <summary>Takes the thumbnail's pixels that fall in a band-sequential output tile at <paramref name="w"/>.</summary>
    public void Add(Raster.Window w, ReadOnlySpan<float> tile, float noData)
    {
        var n = (int)w.Area;
        for (var y = 0; y < Height; y++)
        {
            var r = _srcRow[y] - w.RowOff;
            if (r < 0 || r >= w.Height) continue;
            for (var x = 0; x < Width; x++)
            {
                var c = _srcCol[x] - w.ColOff;
                if (c < 0 || c >= w.Width) continue;
                for (var b = 0; b < Bands; b++)
                {
                    var v = tile[b * n + r * w.Width + c];
                    Values[(b * Height + y) * Width + x] = v == noData ? float.NaN : v;
                }
            }
        }
    }
}

/// <summary>PNG quick-looks through GDAL's MEM and PNG drivers: abundance maps side by side, and the spectra.</summary>
internal static class QuickLook
{
    private static readonly byte[][] Palette =
    [
        [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
        [70, 240, 240], [240, 50, 230], [128, 128, 0], [0, 0, 128], [170, 110, 40],
    ];

    /// <summary>The preview's abundance maps as grey images in [0, 1], side by side; nodata is white.</summary>
    public static void WriteAbundances(string png, Preview preview)
    {
        int w = preview.Width, h = preview.Height, p = preview.Bands, gap = 4;
        var width = p * w + (p - 1) * gap;
        var canvas = new byte[3][];
        for (var c = 0; c < 3; c++) { canvas[c] = new byte[width * h]; Array.Fill(canvas[c], (byte)255); }
        for (var b = 0; b < p; b++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var v = preview.Values[(b * h + y) * w + x];
                    if (float.IsNaN(v)) continue;
                    var g = (byte)Math.Clamp(v * 255, 0, 255);
                    var at = y * width + b * (w + gap) + x;
                    canvas[0][at] = canvas[1][at] = canvas[2][at] = g;
                }
        Save(png, canvas, width, h);
    }

    /// <summary>The endmember spectra as coloured lines (x: band or wavelength, y: 0 to the largest value).</summary>
    public static void WriteSpectra(string png, EndmemberSet e)
    {
        const int w = 640, h = 360, m = 20;
        var canvas = new byte[3][];
        for (var c = 0; c < 3; c++) { canvas[c] = new byte[w * h]; Array.Fill(canvas[c], (byte)255); }
        var xs = e.Wavelengths ?? Enumerable.Range(0, e.Bands).Select(i => (double)i).ToArray();
        double x0 = xs.Min(), x1 = Math.Max(xs.Max(), x0 + 1e-9), y1 = Math.Max(e.E.Max(), 1e-9);
        Line(canvas, w, h, m, h - m, w - m, h - m, [0, 0, 0]);
        Line(canvas, w, h, m, m, m, h - m, [0, 0, 0]);
        for (var j = 0; j < e.Count; j++)
        {
            var colour = Palette[j % Palette.Length];
            for (var i = 0; i + 1 < e.Bands; i++)
            {
                int ax = m + (int)((xs[i] - x0) / (x1 - x0) * (w - 2 * m)), bx = m + (int)((xs[i + 1] - x0) / (x1 - x0) * (w - 2 * m));
                int ay = h - m - (int)(Math.Max(0, e.E[i * e.Count + j]) / y1 * (h - 2 * m));
                int by = h - m - (int)(Math.Max(0, e.E[(i + 1) * e.Count + j]) / y1 * (h - 2 * m));
                Line(canvas, w, h, ax, ay, bx, by, colour);
                Line(canvas, w, h, ax, ay + 1, bx, by + 1, colour);
            }
            // Legend swatches in columns from the right edge, as many rows as the plot is high (P may reach the band count).
            int rows = (h - 2 * m - 8) / 12, col = j / rows, row = j % rows;
            var left = w - m - 20 - 20 * col;
            if (left < m + 2) continue;
            for (var y = 0; y < 8; y++)
                for (var x = 0; x < 16; x++)
                    for (var c = 0; c < 3; c++) canvas[c][(m + 4 + 12 * row + y) * w + left + x] = colour[c];
        }
        Save(png, canvas, w, h);
    }

    private static void Line(byte[][] canvas, int w, int h, int x0, int y0, int x1, int y1, byte[] colour)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            if (x0 >= 0 && x0 < w && y0 >= 0 && y0 < h)
                for (var c = 0; c < 3; c++) canvas[c][y0 * w + x0] = colour[c];
            if (x0 == x1 && y0 == y1) break;
            var e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    private static unsafe void Save(string png, byte[][] rgb, int w, int h)
    {
        var temp = OutputSet.TemporaryName(Path.GetDirectoryName(Path.GetFullPath(png))!, ".png");
        try
        {
            using (var mem = GdalDataset.Create("MEM", "", w, h, 3, GdalDataType.Byte))
            {
                for (var c = 0; c < 3; c++)
                    fixed (byte* p = rgb[c]) mem.RasterIO(true, 0, 0, w, h, p, GdalDataType.Byte, [c + 1], 1, w, (long)w * h);
                // Level 1: quick-looks of noisy maps took 0.27 s at the default level 6, for a few percent of size.
                using var copy = mem.CreateCopy("PNG", temp, ["ZLEVEL=1"]);
                copy.Close();
            }
            File.Move(temp, png, overwrite: true);
        }
        catch (GdalException e)
        {
            throw new RasterOutputException(png, $"cannot write the quick-look: {e.Message}", e);
        }
        finally
        {
            foreach (var f in new[] { temp, temp + ".aux.xml" })
                if (File.Exists(f)) File.Delete(f);
        }
    }
}
