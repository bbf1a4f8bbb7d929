using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>How a tile's samples are laid out in a caller's buffer.</summary>
public enum BufferLayout
{
    /// <summary>One band's pixels contiguous: the buffer is the L x N matrix Y (row-major), N = window area.</summary>
    BandSequential,
    /// <summary>One pixel's bands contiguous: the buffer is the N x L matrix Yᵀ.</summary>
    PixelInterleaved,
}

/// <summary>
/// What to do with non-finite samples (NaN, +Inf, -Inf) that are not the band's nodata value: no unmixing method
/// has a meaning for them, and one such sample poisons every product its pixel enters.
/// </summary>
public enum NanPolicy
{
    /// <summary>Stop with an error naming the file, band and pixel (the data is probably corrupt or nodata is undeclared).</summary>
    Error,
    /// <summary>Treat the pixel as nodata.</summary>
    Mask,
}

/// <summary>Options for <see cref="RasterSource.Open"/>.</summary>
public sealed record RasterOpenOptions
{
    /// <summary>Read uncompressed float32 layouts straight from the file (default); false forces GDAL's RasterIO.</summary>
    public bool AllowRawPath { get; init; } = true;
    /// <summary>What a non-finite sample that is not nodata does: stop with an error (default) or make its pixel nodata.</summary>
    public NanPolicy Nan { get; init; } = NanPolicy.Error;
    /// <summary>Overrides the nodata value of every band (NaN allowed).</summary>
    public double? NoData { get; init; }
    /// <summary>
    /// Which of a sensor product's masks make pixels nodata, by name (EnMAP: PIXELMASK, CLOUD, CLOUDSHADOW, HAZE,
    /// SNOW, CIRRUS); null = the product's defaults, ["none"] = no mask. A name the product lacks is an error.
    /// </summary>
    public IReadOnlyList<string>? Masks { get; init; }
}

/// <summary>
/// A scene opened for tiled reading. <see cref="Read"/> may be called from many threads at once: the raw path
/// makes positioned reads of one shared file handle, and GDAL's path gives each concurrent reader its own dataset handle.
/// </summary>
public sealed class RasterSource : IDisposable
{
    private readonly ConcurrentBag<GdalDataset> _pool = [];
    private readonly RawLayout? _raw;
    private readonly RasterOpenOptions _options;
    private readonly double?[] _noData;
    /// <summary>The nodata rule of every band when they all have the same; null otherwise.</summary>
    private readonly (bool HasNoData, bool IsNan, float Value)? _uniformNoData;
    private readonly bool _scaled;
    /// <summary>The dataset GDAL reads (a product's image file, or the path itself).</summary>
    private readonly string _datasetPath;
    /// <summary>1 where a product mask makes the pixel nodata (row-major over the scene), or null.</summary>
    private readonly byte[]? _masked;

    private RasterSource(string path, GdalDataset first, RasterInfo info, ISceneFormat format, RasterOpenOptions options,
        byte[]? masked = null, IEnumerable<string>? productFiles = null)
    {
        Path = path;
        _datasetPath = first.Path;
        _masked = masked;
        Info = info;
        _options = options;
        _noData = options.NoData is { } nd ? Enumerable.Repeat<double?>(nd, info.BandCount).ToArray() : [.. info.NoData];
        // Samples are compared with nodata in float32, the type every read delivers. A nodata value float32 cannot hold
        // (1e-300 rounds to 0) would then mask genuine values (every 0.0). In a file of any other type than float64
        // no sample can equal it, so it masks nothing; in a float64 file the two cannot be told apart after reading.
        for (var b = 0; b < _noData.Length; b++)
        {
            if (_noData[b] is not { } v || double.IsNaN(v) || (double)(float)v == v) continue;
            if (info.DataType != GdalDataType.Float64) { _noData[b] = null; continue; }
            var hint = $"declare a representable one ({OptionNames.NoData}, or gdal_translate -a_nodata) or convert the file (gdal_translate -ot Float32)";
            throw new RasterDataException(path, string.Create(CultureInfo.InvariantCulture,
                $"band {b + 1}'s nodata value {v:G17} cannot be represented in float32, which this tool computes in (it would mask genuine values such as {(float)v:G9}); {hint}"));
        }
        _scaled = info.Scale.Any(s => s != 1) || info.Offset.Any(o => o != 0);
        // One nodata rule for every band (the usual case): a whole buffer can then be judged by one vector test.
        if (_noData.Length > 0 && Enumerable.Range(0, _noData.Length).All(b => NoDataRule(b).Equals(NoDataRule(0)))) _uniformNoData = NoDataRule(0);
        var why = "raw path disabled";
        _raw = options.AllowRawPath ? RawLayout.TryCreate(first, info, format, out why) : null;
        ReadPath = _raw?.Description ?? $"GDAL RasterIO ({why})";
        Files = [.. first.FileList.Concat(productFiles ?? []).Select(System.IO.Path.GetFullPath).Distinct()];
        _pool.Add(first);
    }

    /// <summary>The path the scene was opened with.</summary>
    public string Path { get; }
    /// <summary>Every file the scene consists of (e.g. the .img, its .hdr and GDAL's .aux.xml): none may be overwritten by an output.</summary>
    public IReadOnlyList<string> Files { get; }
    /// <summary>The scene's size, grid, CRS and per-band metadata (a sensor product's metadata applied).</summary>
    public RasterInfo Info { get; }
    /// <summary>Which reading path serves this file (raw reads of its layout, or GDAL RasterIO and why), for logs and reports.</summary>
    public string ReadPath { get; }
    /// <summary>
    /// The buffer layout the file stores: windows read into it are copied, not transposed (pixel-interleaved for
    /// BIP files and pixel-interleaved GeoTIFFs, band-sequential otherwise).
    /// </summary>
    public BufferLayout NativeLayout => Info.Interleave == "PIXEL" ? BufferLayout.PixelInterleaved : BufferLayout.BandSequential;
    /// <summary>True when windows are read from the file itself (raw layouts), not through GDAL's block cache: small windows then cost no more per pixel than large ones.</summary>
    public bool ReadsFileDirectly => _raw is not null;
    /// <summary>The nodata value in force for each band (the file's, or the override).</summary>
    public IReadOnlyList<double?> NoData => _noData;
    /// <summary>The whole scene as a window: (0, 0, Width, Height).</summary>
    public Window Extent => new(0, 0, Info.Width, Info.Height);

    /// <summary>Opens a scene and checks that its file is consistent with its header.</summary>
    /// <exception cref="GdalOpenException">Missing file, directory, or not a raster.</exception>
    /// <exception cref="RasterDataException">Truncated file, band count that disagrees with the file size, unsupported type.</exception>
    public static RasterSource Open(string path, RasterOpenOptions? options = null)
    {
        options ??= new RasterOpenOptions();
        // A sensor product (a folder, a metadata file, a product's image) names the file GDAL reads and the metadata.
        var product = SceneProducts.Resolve(path);
        // Otherwise an ENVI header given as the scene stands for its data file (what GDAL opens).
        if (product is null) path = EnviFormat.DataFileOf(path);
        if (product is null && options.Masks is { Count: > 0 } m && !(m.Count == 1 && m[0].Equals("none", StringComparison.OrdinalIgnoreCase)))
            throw new ArgumentException($"{OptionNames.Masks}: {path} is not a sensor product with masks (EnMAP, EMIT with its L2A MASK file, DESIS with its QL_QUALITY-2); use {OptionNames.Masks} only with products");
        GdalDataset ds;
        try { ds = GdalDataset.Open(product?.DatasetPath ?? path); }
        catch
        {
            DeleteTemporary(product);
            throw;
        }
        try
        {
            var format = SceneFormats.For(ds);
            var info = RasterInfo.Read(ds, path, format.Header(ds));
            if (info.DataType is GdalDataType.Unknown or GdalDataType.CInt16 or GdalDataType.CInt32 or GdalDataType.CFloat32 or GdalDataType.CFloat64)
                throw new RasterDataException(path, $"unsupported data type {info.DataType}: hyperspectral cubes must be real-valued");
            format.Check(ds, info, product?.DatasetPath ?? path);
            if (product is null) return new RasterSource(path, ds, info, format, options);
            var (withProduct, masked) = ApplyProduct(info, product, options);
            return new RasterSource(path, ds, withProduct, format, options, masked, product.Files) { _temporary = product.TemporaryFile };
        }
        catch
        {
            ds.Dispose();
            DeleteTemporary(product);
            throw;
        }
    }

    /// <summary>
    /// The product's metadata over the image file's: its wavelengths (nm), FWHM, gains and offsets (they replace any
    /// scale the image declares), its fill value where the image declares no nodata, and its masks read onto the grid.
    /// </summary>
    private static (RasterInfo, byte[]?) ApplyProduct(RasterInfo info, ProductScene p, RasterOpenOptions options)
    {
        if (info.BandCount != p.BandCount)
            throw new RasterDataException(p.MetadataFile,
                $"describes {p.BandCount} bands but the {p.Sensor} image {System.IO.Path.GetFileName(p.DatasetPath)} has {info.BandCount}");
        var chosen = SceneProducts.Select(p, options.Masks);
        byte[]? masked = null;
        List<(string, long)> counts = [];
        if (chosen.Count > 0) (masked, counts) = SceneProducts.ReadMasks(chosen, info.Width, info.Height);
        long maskedCount = masked?.Sum(b => (long)b) ?? 0;
        return (info with
        {
            Wavelengths = p.Wavelengths ?? info.Wavelengths,
            WavelengthUnits = p.Wavelengths is null ? info.WavelengthUnits : "Nanometers",
            Fwhm = p.Fwhm ?? info.Fwhm,
            Scale = p.Scale ?? info.Scale,
            Offset = p.Offset ?? info.Offset,
            BadBands = p.BadBands ?? info.BadBands,
            NoData = p.NoData is { } nd ? info.NoData.Select(v => (double?)(v ?? nd)).ToArray() : info.NoData,
            Product = new ProductInfo
            {
                Sensor = p.Sensor,
                Level = p.Level,
                MetadataFile = p.MetadataFile,
                ImageFile = p.DatasetPath,
                Reflectance = p.Reflectance,
                AvailableMasks = p.Masks,
                AppliedMasks = counts,
                MaskedPixels = maskedCount,
            },
        }, maskedCount > 0 ? masked : null);
    }

    /// <summary>
    /// Reads a window of the given 0-based bands into <paramref name="dest"/> (length bands x area), applies
    /// scale/offset and marks in <paramref name="valid"/> (length area, 1 = valid) the pixels where no band is
    /// nodata. Invalid pixels' samples are set to 0.
    /// </summary>
    /// <returns>The number of valid pixels.</returns>
    public int Read(Window window, ReadOnlySpan<int> bands, Span<float> dest, Span<byte> valid, BufferLayout layout = BufferLayout.BandSequential)
    {
        if (!Extent.Contains(window) || window.IsEmpty)
            throw new ArgumentOutOfRangeException(nameof(window), $"{window} is not inside {Path} ({Info.Width}x{Info.Height})");
        var n = checked((int)window.Area);
        if (dest.Length < n * bands.Length) throw new ArgumentException($"buffer holds {dest.Length} samples, needs {n * bands.Length}", nameof(dest));
        if (valid.Length < n) throw new ArgumentException($"mask holds {valid.Length} pixels, needs {n}", nameof(valid));
        foreach (var b in bands)
            if ((uint)b >= (uint)Info.BandCount) throw new ArgumentOutOfRangeException(nameof(bands), b, $"{Path} has {Info.BandCount} bands");

        dest = dest[..(n * bands.Length)];
        if (_raw is not null) _raw.Copy(window, bands, dest, layout);
        else ReadWithGdal(window, bands, dest, layout);
        return Finish(window, bands, dest, valid[..n], layout);
    }

    /// <summary>
    /// Reads a window like <see cref="Read"/>, but judges each sample on its own: <paramref name="validSamples"/> (laid
    /// out as <paramref name="dest"/>) is 1 where the sample is neither its band's nodata nor non-finite (a non-finite
    /// sample that is not nodata is an error, as in <see cref="Read"/>, unless NaN is masked). Valid samples are scaled
    /// by the file's scale/offset, the others set to 0. What band screening needs: a band that is nodata everywhere
    /// must be seen as such, not make every pixel invalid.
    /// </summary>
    public void ReadSamples(Window window, ReadOnlySpan<int> bands, Span<float> dest, Span<byte> validSamples, BufferLayout layout = BufferLayout.BandSequential)
    {
        if (!Extent.Contains(window) || window.IsEmpty)
            throw new ArgumentOutOfRangeException(nameof(window), $"{window} is not inside {Path} ({Info.Width}x{Info.Height})");
        var n = checked((int)window.Area);
        var total = n * bands.Length;
        if (dest.Length < total || validSamples.Length < total) throw new ArgumentException($"buffers must hold {total} samples");
        dest = dest[..total];
        if (_raw is not null) _raw.Copy(window, bands, dest, layout);
        else ReadWithGdal(window, bands, dest, layout);
        validSamples[..total].Fill(1);
        if (_masked is not null) MaskSamples(window, bands.Length, dest, validSamples, layout);
        // The usual case, at once: no mask, no scale, one nodata rule, and no sample anywhere non-finite or nodata
        // (band by band this cost more than reading the sample's single pixels: 7 µs each for 224 bands).
        else if (!_scaled && _uniformNoData is { } u && !NeedsScan(dest, u.HasNoData && !u.IsNan, u.Value)) return;
        Span<byte> flags = n <= 4096 ? stackalloc byte[n] : new byte[n];
        for (var q = 0; q < bands.Length; q++)
        {
            var (hasNd, ndIsNan, ndValue) = NoDataRule(bands[q]);
            float scale = (float)Info.Scale[bands[q]], offset = (float)Info.Offset[bands[q]];
            // A band-sequential row with no nodata and no non-finite sample (the usual case) needs no per-sample rule.
            var clean = layout == BufferLayout.BandSequential && _masked is null && !NeedsScan(dest.Slice(q * n, n), hasNd && !ndIsNan, ndValue);
            if (clean && !_scaled) continue;
            flags.Fill(1);
            for (var p = 0; p < n; p++)
            {
                var i = layout == BufferLayout.BandSequential ? q * n + p : p * bands.Length + q;
                if (!clean && validSamples[i] != 0)
                {
                    Classify(dest[i], p, bands[q], hasNd, ndIsNan, ndValue, window, flags);
                    validSamples[i] = flags[p];
                }
                // As Read: scaled only when the file declares a scale (so that unscaled samples keep their bits).
                dest[i] = validSamples[i] == 0 ? 0f : _scaled ? dest[i] * scale + offset : dest[i];
            }
        }
    }

    /// <summary>All bands, in file order.</summary>
    public int[] AllBands => Enumerable.Range(0, Info.BandCount).ToArray();

    private unsafe void ReadWithGdal(Window w, ReadOnlySpan<int> bands, Span<float> dest, BufferLayout layout)
    {
        if (!_pool.TryTake(out var ds)) ds = GdalDataset.Open(_datasetPath);
        try
        {
            Span<int> map = bands.Length <= 512 ? stackalloc int[bands.Length] : new int[bands.Length];
            for (var i = 0; i < bands.Length; i++) map[i] = bands[i] + 1;
            long n = w.Area;
            var (pixel, line, band) = layout == BufferLayout.BandSequential
                ? (4L, 4L * w.Width, 4L * n)
                : (4L * bands.Length, 4L * bands.Length * w.Width, 4L);
            fixed (float* p = dest) ds.RasterIO(false, w.ColOff, w.RowOff, w.Width, w.Height, p, GdalDataType.Float32, map, pixel, line, band);
            // Before nodata is compared: a signed band's nodata value is given signed.
            if (Info.SignedByte)
                foreach (ref var v in dest)
                    if (v > 127) v -= 256;
        }
        finally
        {
            _pool.Add(ds);
        }
    }

    private int Finish(Window w, ReadOnlySpan<int> bands, Span<float> dest, Span<byte> valid, BufferLayout layout)
    {
        var n = valid.Length;
        valid.Fill(1);
        var k = bands.Length;
        if (_masked is not null) MaskPixels(w, valid);
        if (layout == BufferLayout.PixelInterleaved) ClassifyPixels(w, bands, dest, valid);
        else ClassifyBands(w, bands, dest, valid);
        var count = 0;
        for (var p = 0; p < n; p++) count += valid[p];
        if (count < n || _scaled)
        {
            for (var q = 0; q < k; q++)
            {
                float scale = (float)Info.Scale[bands[q]], offset = (float)Info.Offset[bands[q]];
                for (var p = 0; p < n; p++)
                {
                    ref var v = ref (layout == BufferLayout.BandSequential ? ref dest[q * n + p] : ref dest[p * k + q]);
                    v = valid[p] != 0 ? v * scale + offset : 0f;
                }
            }
        }
        return count;
    }

    /// <summary>Pixels a product mask flags are invalid, whatever their samples.</summary>
    private void MaskPixels(Window w, Span<byte> valid)
    {
        for (var r = 0; r < w.Height; r++)
        {
            var row = _masked.AsSpan((w.RowOff + r) * Info.Width + w.ColOff, w.Width);
            for (var c = 0; c < w.Width; c++)
                if (row[c] != 0) valid[r * w.Width + c] = 0;
        }
    }

    /// <summary>Every sample of a masked pixel is invalid (and not judged further, so masked NaNs are no error).</summary>
    private void MaskSamples(Window w, int k, Span<float> dest, Span<byte> validSamples, BufferLayout layout)
    {
        var n = w.Width * w.Height;
        for (var r = 0; r < w.Height; r++)
            for (var c = 0; c < w.Width; c++)
            {
                if (_masked![(w.RowOff + r) * Info.Width + w.ColOff + c] == 0) continue;
                var p = r * w.Width + c;
                for (var q = 0; q < k; q++)
                {
                    var i = layout == BufferLayout.BandSequential ? q * n + p : p * k + q;
                    validSamples[i] = 0;
                    dest[i] = 0;
                }
            }
    }

    /// <summary>Band-sequential buffers: one vector test per band row, and the per-sample rules only for rows it flags.</summary>
    private void ClassifyBands(Window w, ReadOnlySpan<int> bands, Span<float> dest, Span<byte> valid)
    {
        var n = valid.Length;
        for (var q = 0; q < bands.Length; q++)
        {
            var (hasNd, ndIsNan, ndValue) = NoDataRule(bands[q]);
            var row = dest.Slice(q * n, n);
            if (!NeedsScan(row, hasNd && !ndIsNan, ndValue)) continue;
            for (var p = 0; p < n; p++) Classify(row[p], p, bands[q], hasNd, ndIsNan, ndValue, w, valid);
        }
    }

    private (bool HasNoData, bool IsNan, float Value) NoDataRule(int band) =>
        _noData[band] is { } v ? (true, double.IsNaN(v), double.IsNaN(v) ? float.NaN : (float)v) : (false, false, float.NaN);

    /// <summary>
    /// Pixel-interleaved buffers: one vector test per pixel's spectrum (any non-finite sample, or the bands' common
    /// nodata value), and the per-sample rules only for the pixels it flags. Bands with different nodata values are
    /// tested sample by sample.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ClassifyPixels(Window w, ReadOnlySpan<int> bands, Span<float> dest, Span<byte> valid)
    {
        var k = bands.Length;
        double? common = _noData[bands[0]];
        var same = true;
        foreach (var b in bands) same &= _noData[b] is { } x ? common is { } c && (x == c || double.IsNaN(x) && double.IsNaN(c)) : common is null;
        var hasValue = same && common is { } v && !double.IsNaN(v);
        var commonValue = hasValue ? (float)common!.Value : float.NaN;
        for (var p = 0; p < valid.Length; p++)
        {
            var pixel = dest.Slice(p * k, k);
            if (same && !NeedsScan(pixel, hasValue, commonValue)) continue;
            for (var q = 0; q < k; q++)
            {
                var (hasNd, ndIsNan, ndValue) = NoDataRule(bands[q]);
                Classify(pixel[q], p, bands[q], hasNd, ndIsNan, ndValue, w, valid);
            }
        }
    }

    /// <summary>Fast vector test: does the band row contain a non-finite sample or the nodata value at all?</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static bool NeedsScan(ReadOnlySpan<float> row, bool hasValue, float ndValue)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var nd = new Vector<float>(ndValue);
            for (; i <= row.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(row.Slice(i, Vector<float>.Count));
                // v − v is 0 for finite samples and NaN for NaN and ±Inf alike.
                if (!Vector.EqualsAll(v - v, Vector<float>.Zero) || (hasValue && Vector.EqualsAny(v, nd))) return true;
            }
        }
        for (; i < row.Length; i++)
            if (!float.IsFinite(row[i]) || (hasValue && row[i] == ndValue)) return true;
        return false;
    }

    private void Classify(float v, int p, int band, bool hasNd, bool ndIsNan, float ndValue, Window w, Span<byte> valid)
    {
        if (hasNd && !ndIsNan && v == ndValue) { valid[p] = 0; return; }
        if (float.IsFinite(v)) return;
        // A pixel a product mask flags is nodata whatever its samples hold.
        if (_masked is not null && _masked[(w.RowOff + p / w.Width) * Info.Width + w.ColOff + p % w.Width] != 0) { valid[p] = 0; return; }
        if (float.IsNaN(v) && ndIsNan || _options.Nan == NanPolicy.Mask) { valid[p] = 0; return; }
        var at = $"pixel (col {w.ColOff + p % w.Width}, row {w.RowOff + p / w.Width})";
        throw new RasterDataException(Path, float.IsNaN(v)
            ? $"band {band + 1} has NaN at {at} and its nodata value is not NaN; " +
              $"declare the nodata value (e.g. {OptionNames.NoData} nan) or mask NaN pixels ({OptionNames.NanAsNoData})"
            : Info.DataType == GdalDataType.Float64
            ? $"band {band + 1} has a value beyond float32's range (±3.4e38) at {at}, which this tool computes in; rescale the data " +
              $"(e.g. gdal_translate -ot Float32 -scale) or treat such samples as nodata with {OptionNames.NanAsNoData}"
            : $"band {band + 1} has infinite values ({(v > 0 ? "+Inf" : "-Inf")} at {at}); the data is probably corrupt or of another byte order; " +
              $"to treat non-finite samples as nodata, use {OptionNames.NanAsNoData}");
    }

    /// <summary>A file a product reader made for this scene, removed on <see cref="Dispose"/>.</summary>
    private string? _temporary;

    private static void DeleteTemporary(ProductScene? p)
    {
        if (p?.TemporaryFile is { } t) File.Delete(t);
    }

    /// <summary>Closes the file and every dataset handle, and deletes any temporary file a product reader made for the scene.</summary>
    public void Dispose()
    {
        _raw?.Dispose();
        while (_pool.TryTake(out var ds)) ds.Dispose();
        if (_temporary is not null) { File.Delete(_temporary); _temporary = null; }
    }
}
