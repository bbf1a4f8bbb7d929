using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>ENVI: a raw file and its .hdr (wavelengths, FWHM, bad-band list, interleave BSQ/BIL/BIP, header offset).</summary>
internal sealed class EnviFormat : ISceneFormat
{
    public string Name => "ENVI";
    public bool Claims(GdalDataset ds) => ds.DriverName == "ENVI";
    public IReadOnlyDictionary<string, string> Header(GdalDataset ds) => ds.GetMetadata("ENVI");

    /// <summary>The file must hold exactly what its header describes: a shorter file is truncated, a longer one has a wrong band count or size.</summary>
    public void Check(GdalDataset ds, RasterInfo info, string path)
    {
        var envi = ds.GetMetadata("ENVI");
        var header = long.Parse(envi.GetValueOrDefault("header_offset", "0"), CultureInfo.InvariantCulture);
        var sample = info.DataType switch
        {
            GdalDataType.Byte or GdalDataType.Int8 => 1,
            GdalDataType.UInt16 or GdalDataType.Int16 => 2,
            GdalDataType.Float64 or GdalDataType.Int64 or GdalDataType.UInt64 => 8,
            _ => 4,
        };
        var expected = header + (long)info.Width * info.Height * info.BandCount * sample;
        var file = ds.FileList is { Count: > 0 } files ? files[0] : path;
        var actual = new FileInfo(file).Length;
        if (actual < expected)
            throw new RasterDataException(file,
                $"truncated: the header describes {info.BandCount} bands of {info.Width}x{info.Height} {info.DataType} ({expected} bytes) but the file has {actual} bytes");
        if (actual > expected)
            throw new RasterDataException(file,
                $"the header's band count or size disagrees with the file: {info.BandCount} bands of {info.Width}x{info.Height} {info.DataType} need {expected} bytes, the file has {actual}");
    }

    /// <summary>Band b's sample of pixel (x, y) lies at header_offset + the interleave's strides (little-endian only).</summary>
    public RawLayout? Layout(GdalDataset ds, RasterInfo info, string file, out string reason)
    {
        var length = new FileInfo(file).Length;
        int w = info.Width, h = info.Height, n = info.BandCount;
        var envi = ds.GetMetadata("ENVI");
        if (envi.GetValueOrDefault("byte_order", "0") != "0") { reason = "big-endian ENVI"; return null; }
        var header = long.Parse(envi.GetValueOrDefault("header_offset", "0"), CultureInfo.InvariantCulture);
        var plane = (long)w * h * 4;
        var (pixel, line, bandStep, pi) = info.Interleave switch
        {
            "BAND" => (4L, w * 4L, plane, false),
            "LINE" => (4L, (long)n * w * 4, w * 4L, false),
            "PIXEL" => ((long)n * 4, (long)w * n * 4, 4L, true),
            _ => (0L, 0L, 0L, false),
        };
        if (pixel == 0) { reason = $"ENVI interleave {info.Interleave}"; return null; }
        if (header + plane * n > length) { reason = "file shorter than its header says"; return null; }
        var offsets = new long[n];
        for (var b = 0; b < n; b++) offsets[b] = header + b * bandStep;
        reason = "";
        return new RawLayout(file, $"raw reads of ENVI {info.Interleave}", n, w, h, 1, 1, line, pi, offsets);
    }
}
