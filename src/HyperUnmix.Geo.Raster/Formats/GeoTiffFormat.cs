using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>GeoTIFF: metadata from the bands (GDAL's tags); direct reads of uncompressed little-endian files, tiled or stripped, band- or pixel-interleaved.</summary>
internal sealed class GeoTiffFormat : ISceneFormat
{
    public string Name => "GeoTIFF";
    public bool Claims(GdalDataset ds) => ds.DriverName == "GTiff";
    public IReadOnlyDictionary<string, string> Header(GdalDataset ds) => new Dictionary<string, string>();
    public void Check(GdalDataset ds, RasterInfo info, string path) { }

    /// <summary>Block offsets from GDAL's BLOCK_OFFSET_x_y items; sparse or truncated blocks go through GDAL.</summary>
    public RawLayout? Layout(GdalDataset ds, RasterInfo info, string file, out string reason)
    {
        var length = new FileInfo(file).Length;
        int w = info.Width, h = info.Height, n = info.BandCount;
        if (info.Compression is not (null or "NONE")) { reason = $"compression {info.Compression}"; return null; }
        Span<byte> magic = stackalloc byte[2];
        using (var fs = File.OpenRead(file)) fs.ReadExactly(magic);
        if (magic[0] != (byte)'I' || magic[1] != (byte)'I') { reason = "big-endian TIFF"; return null; }
        var (bw, bh) = info.BlockSize;
        int bpr = (w + bw - 1) / bw, bpc = (h + bh - 1) / bh, blocks = bpr * bpc;
        var pi = info.Interleave == "PIXEL";
        var offsets = new long[n * blocks];
        for (var b = 0; b < n; b++)
        {
            var band = ds.GetBand(pi ? 1 : b + 1);
            for (var k = 0; k < blocks; k++)
            {
                if (pi && b > 0) { offsets[b * blocks + k] = offsets[k] + b * 4L; continue; }
                int bx = k % bpr, by = k / bpr;
                var off = band.GetMetadataItem($"BLOCK_OFFSET_{bx}_{by}", "TIFF");
                var size = band.GetMetadataItem($"BLOCK_SIZE_{bx}_{by}", "TIFF");
                if (off is null || size is null || long.Parse(off, CultureInfo.InvariantCulture) == 0)
                { reason = "sparse blocks"; return null; }
                var o = long.Parse(off, CultureInfo.InvariantCulture);
                if (o + long.Parse(size, CultureInfo.InvariantCulture) > length) { reason = "truncated file"; return null; }
                offsets[b * blocks + k] = o;
            }
        }
        long pixel = pi ? n * 4L : 4L;
        reason = "";
        return new RawLayout(file, $"raw reads of GeoTIFF ({(pi ? "pixel" : "band")}-interleaved {bw}x{bh} blocks)",
            n, bw, bh, bpr, blocks, pixel * bw, pi, offsets);
    }
}
