using HyperUnmix.Geo.Gdal.Native;

namespace HyperUnmix.Geo.Gdal;

/// <summary>
/// A GDAL dataset (raster or vector). Not thread-safe: give each thread its own dataset, as GDAL requires.
/// </summary>
internal sealed unsafe class GdalDataset : IDisposable
{
    private const uint OfRaster = 0x02, OfVector = 0x04, OfVerboseError = 0x40;
    private readonly GdalDatasetHandle _handle;

    private GdalDataset(GdalDatasetHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The path or name the dataset was opened or created with.</summary>
    public string Path { get; }

    internal nint Handle => _handle.IsClosed ? throw new ObjectDisposedException(Path) : _handle.DangerousGetHandle();

    /// <summary>Opens a raster dataset.</summary>
    /// <exception cref="GdalOpenException">The file is missing, is a directory, or no driver recognises it.</exception>
    public static GdalDataset Open(string path, GdalAccess access = GdalAccess.ReadOnly) =>
        OpenEx(path, OfRaster | (uint)access, "raster");

    /// <summary>Opens a vector dataset (GeoJSON, Shapefile, GeoPackage, ...).</summary>
    public static GdalDataset OpenVector(string path) => OpenEx(path, OfVector, "vector");

    private static GdalDataset OpenEx(string path, uint flags, string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GdalLibrary.ConfigureAll();
        if (Directory.Exists(path) && kind == "raster")
            throw new GdalOpenException("is a directory, not a raster file", path);
        if (!File.Exists(path) && !path.StartsWith("/vsi", StringComparison.Ordinal) && !Directory.Exists(path))
            throw new GdalOpenException("file not found", path);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALOpenEx(path, flags | OfVerboseError, 0, 0, 0);
        if (h == 0)
        {
            var no = GdalNative.CPLGetLastErrorNo();
            var msg = GdalNative.Str(GdalNative.CPLGetLastErrorMsg());
            GdalNative.CPLErrorReset();
            throw new GdalOpenException(
                string.IsNullOrWhiteSpace(msg) ? $"not a {kind} format GDAL recognises" : $"cannot open as {kind}: {msg}", path, no);
        }
        GdalNative.CPLErrorReset();
        return new GdalDataset(new GdalDatasetHandle(h), path);
    }

    /// <summary>Creates a new raster with the named driver (e.g. "GTiff", "ENVI").</summary>
    public static GdalDataset Create(string driverName, string path, int width, int height, int bands, GdalDataType type,
        IEnumerable<string>? options = null)
    {
        GdalLibrary.ConfigureAll();
        var driver = Driver(driverName);
        using var opts = new StringList(options);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALCreate(driver, path, width, height, bands, (int)type, opts.Pointer);
        if (h == 0) GdalLibrary.ThrowLast($"cannot create {driverName} raster", path, io: true);
        GdalNative.CPLErrorReset();
        return new GdalDataset(new GdalDatasetHandle(h), path);
    }

    /// <summary>Copies this dataset to a new file with the named driver (the only way to write a COG).</summary>
    public GdalDataset CreateCopy(string driverName, string path, IEnumerable<string>? options = null)
    {
        var driver = Driver(driverName);
        using var opts = new StringList(options);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALCreateCopy(driver, path, Handle, 1, opts.Pointer, 0, 0);
        if (h == 0) GdalLibrary.ThrowLast($"cannot copy to {driverName}", path, io: true);
        GdalNative.CPLErrorReset();
        return new GdalDataset(new GdalDatasetHandle(h), path);
    }

    private static nint Driver(string name)
    {
        var d = GdalNative.GDALGetDriverByName(name);
        return d != 0 ? d : throw new GdalException($"GDAL has no driver named '{name}'");
    }

    public int Width => GdalNative.GDALGetRasterXSize(Handle);
    public int Height => GdalNative.GDALGetRasterYSize(Handle);
    public int BandCount => GdalNative.GDALGetRasterCount(Handle);

    /// <summary>The short name of the driver that opened the dataset ("GTiff", "ENVI", "VRT", ...).</summary>
    public string DriverName => GdalNative.Str(GdalNative.GDALGetDriverShortName(GdalNative.GDALGetDatasetDriver(Handle))) ?? "";

    /// <summary>Band <paramref name="index"/> (1-based, as in GDAL).</summary>
    public GdalBand GetBand(int index)
    {
        if (index < 1 || index > BandCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Path} has {BandCount} bands");
        return new GdalBand(this, GdalNative.GDALGetRasterBand(Handle, index), index);
    }

    /// <summary>The affine geotransform, or null when the dataset has none (GDAL's default pixel grid).</summary>
    public double[]? GetGeoTransform()
    {
        var t = new double[6];
        fixed (double* p = t)
        {
            var err = GdalNative.GDALGetGeoTransform(Handle, p);
            GdalNative.CPLErrorReset();
            return err == 0 ? t : null;
        }
    }

    public void SetGeoTransform(ReadOnlySpan<double> transform)
    {
        if (transform.Length != 6) throw new ArgumentException("a geotransform has 6 coefficients", nameof(transform));
        fixed (double* p = transform) GdalLibrary.Check(GdalNative.GDALSetGeoTransform(Handle, p), "cannot set geotransform", Path);
    }

    /// <summary>The CRS as WKT, or an empty string.</summary>
    public string ProjectionWkt => GdalNative.Str(GdalNative.GDALGetProjectionRef(Handle)) ?? "";

    public void SetProjection(string wkt) => GdalLibrary.Check(GdalNative.GDALSetProjection(Handle, wkt), "cannot set CRS", Path);

    public string? GetMetadataItem(string name, string? domain = null) =>
        GdalNative.Str(GdalNative.GDALGetMetadataItem(Handle, name, domain));

    public void SetMetadataItem(string name, string value, string? domain = null) =>
        GdalLibrary.Check(GdalNative.GDALSetMetadataItem(Handle, name, value, domain), $"cannot set metadata {name}", Path);

    /// <summary>All metadata items of a domain as key/value pairs.</summary>
    public Dictionary<string, string> GetMetadata(string? domain = null) => ParseMetadata(GdalNative.GDALGetMetadata(Handle, domain));

    /// <summary>The files that make up the dataset (e.g. the .img and its .hdr).</summary>
    public IReadOnlyList<string> FileList
    {
        get
        {
            var list = GdalNative.GDALGetFileList(Handle);
            try { return GdalNative.StringList(list); }
            finally { GdalNative.CSLDestroy(list); }
        }
    }

    /// <summary>
    /// Reads or writes a window of several bands in one GDAL call, with the buffer layout given by the spacings
    /// (in bytes). Band-sequential: pixel = size, line = size*w, band = size*w*h. Pixel-interleaved: pixel =
    /// size*bands, line = pixel*w, band = size.
    /// </summary>
    public void RasterIO(bool write, int x, int y, int w, int h, void* buffer, GdalDataType bufferType,
        ReadOnlySpan<int> bands, long pixelSpace, long lineSpace, long bandSpace) =>
        RasterIO(write, x, y, w, h, buffer, w, h, bufferType, bands, pixelSpace, lineSpace, bandSpace);

    /// <summary>As above, with a buffer of another size than the window (GDAL resamples, nearest neighbour).</summary>
    public void RasterIO(bool write, int x, int y, int w, int h, void* buffer, int bufferWidth, int bufferHeight, GdalDataType bufferType,
        ReadOnlySpan<int> bands, long pixelSpace, long lineSpace, long bandSpace)
    {
        GdalNative.CPLErrorReset();
        int err;
        fixed (int* map = bands)
            err = GdalNative.GDALDatasetRasterIOEx(Handle, write ? 1 : 0, x, y, w, h, buffer, bufferWidth, bufferHeight, (int)bufferType,
                bands.Length, map, pixelSpace, lineSpace, bandSpace, 0);
        if (err >= 3 || GdalNative.CPLGetLastErrorType() >= 3)
            GdalLibrary.ThrowLast(write ? $"cannot write window x={x} y={y} {w}x{h}" : $"cannot read window x={x} y={y} {w}x{h}", Path, io: true);
        GdalNative.CPLErrorReset();
    }

    /// <summary>Layers of a vector dataset.</summary>
    public int LayerCount => GdalNative.GDALDatasetGetLayerCount(Handle);

    public OgrLayer GetLayer(int index) =>
        index >= 0 && index < LayerCount
            ? new OgrLayer(this, GdalNative.GDALDatasetGetLayer(Handle, index))
            : throw new GdalException($"has no layer {index} (it has {LayerCount})", Path);

    public OgrLayer GetLayer(string name)
    {
        var l = GdalNative.GDALDatasetGetLayerByName(Handle, name);
        return l != 0 ? new OgrLayer(this, l) : throw new GdalException($"has no layer named '{name}'", Path);
    }

    /// <summary>Closes the dataset, flushing pending writes, and throws if GDAL reported a failure while flushing.</summary>
    public void Close()
    {
        if (_handle.IsClosed) return;
        GdalNative.CPLErrorReset();
        _handle.Dispose();
        if (GdalNative.CPLGetLastErrorType() >= 3) GdalLibrary.ThrowLast("failed while closing", Path, io: true);
    }

    public void Dispose() => _handle.Dispose();

    internal static Dictionary<string, string> ParseMetadata(nint list)
    {
        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in GdalNative.StringList(list))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) dict[item[..eq]] = item[(eq + 1)..];
        }
        return dict;
    }

    /// <summary>Keeps the dataset handle alive while a child object (band, layer) uses it.</summary>
    internal T Use<T>(Func<T> action)
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return action();
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }
}
