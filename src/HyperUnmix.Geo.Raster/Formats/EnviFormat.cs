using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>ENVI: a raw file and its .hdr (wavelengths, FWHM, bad-band list, interleave BSQ/BIL/BIP, header offset).</summary>
internal sealed class EnviFormat : ISceneFormat
{
    public string Name => "ENVI";

    /// <summary>The extensions an ENVI data file is found with beside its header, after the bare stem.</summary>
    private static readonly string[] DataExtensions = [".img", ".dat", ".bsq", ".bil", ".bip", ".raw", ".IMG", ".DAT", ".BSQ", ".BIL", ".BIP", ".RAW"];

    /// <summary>
    /// The data file of an ENVI header given as the scene (users pick the .hdr; GDAL opens only the data file): the
    /// stem itself or the stem with a data extension, whichever exists first. Any other path is returned as it is.
    /// </summary>
    /// <exception cref="RasterDataException">A header with no data file beside it.</exception>
    public static string DataFileOf(string path)
    {
        if (!path.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/vsi", StringComparison.Ordinal) || !File.Exists(path))
            return path;
        var stem = path[..^4];
        foreach (var candidate in DataExtensions.Select(e => stem + e).Prepend(stem))
            if (File.Exists(candidate)) return candidate;
        throw new RasterDataException(path, $"is an ENVI header, and its data file ({Path.GetFileName(stem)} or {Path.GetFileName(stem)}.img, .dat, .bsq, .bil, .bip, .raw beside it) was not found");
    }
    public bool Claims(GdalDataset ds) => ds.DriverName == "ENVI";
    public IReadOnlyDictionary<string, string> Header(GdalDataset ds) => ds.GetMetadata("ENVI");

    /// <summary>The file must hold exactly what its header describes: a shorter file is truncated, a longer one has a wrong band count or size.</summary>
    public void Check(GdalDataset ds, RasterInfo info, string path)
    {
        var header = HeaderOffset(ds, path);
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
        var header = HeaderOffset(ds, file);
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

    /// <summary>
    /// The header offset as GDAL reads it: "64.0" is legal for GDAL (and once gave an internal error here); a
    /// fraction or a negative number is not an offset.
    /// </summary>
    /// <remarks>
    /// Read from the .hdr itself: GDAL's ENVI metadata domain also takes items from a .aux.xml beside the file, and
    /// one copied from another file (gdal_translate writes the ENVI domain there) named a stale offset.
    /// </remarks>
    private static long HeaderOffset(GdalDataset ds, string path)
    {
        var layout = HeaderLayout(ds, path);
        var text = layout?.GetValueOrDefault("header offset") ?? ds.GetMetadata("ENVI").GetValueOrDefault("header_offset", "0");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0 || v != Math.Floor(v) || v > long.MaxValue / 2)
            throw new RasterDataException(path, $"the header's 'header offset' is '{text}', not a whole number of bytes");
        return (long)v;
    }

    /// <summary>The header items that decide where each sample lies.</summary>
    private static readonly string[] LayoutKeys = ["samples", "lines", "bands", "interleave", "data type", "byte order", "header offset"];

    /// <summary>
    /// The .hdr's layout items (null without a .hdr). A layout item given twice with different values (GDAL silently
    /// takes the last) leaves the file's layout in doubt; the header must be fixed rather than one reading guessed.
    /// </summary>
    private static Dictionary<string, string>? HeaderLayout(GdalDataset ds, string path)
    {
        var hdr = ds.FileList?.FirstOrDefault(f => f.EndsWith(".hdr", StringComparison.OrdinalIgnoreCase));
        if (hdr is null || !File.Exists(hdr)) return null;
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in File.ReadLines(hdr))
        {
            var eq = line.IndexOf('=');
            if (eq <= 0) continue;
            var key = string.Join(' ', line[..eq].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
            if (!LayoutKeys.Contains(key)) continue;
            var value = line[(eq + 1)..].Trim();
            if (seen.TryGetValue(key, out var earlier) && !earlier.Equals(value, StringComparison.OrdinalIgnoreCase))
                throw new RasterDataException(hdr, $"'{key}' is given twice with different values ('{earlier}', then '{value}'): the layout is in doubt; keep one in the header");
            seen[key] = value;
        }
        return seen;
    }
}
