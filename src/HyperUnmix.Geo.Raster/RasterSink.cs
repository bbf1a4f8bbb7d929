using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>Output raster formats.</summary>
public enum RasterFormat
{
    /// <summary>Tiled GeoTIFF, DEFLATE with floating-point predictor.</summary>
    GTiff,
    /// <summary>Cloud-Optimized GeoTIFF with overviews (a tiled GeoTIFF copied by GDAL's COG driver).</summary>
    Cog,
    /// <summary>ENVI BSQ with a .hdr naming the bands.</summary>
    Envi,
}

/// <summary>What an output raster looks like (rasterio's profile): derive it from a source, then change what differs.</summary>
internal sealed record RasterProfile
{
    public required int Width { get; init; }
    public required int Height { get; init; }
    public required string[] BandNames { get; init; }
    public double[]? GeoTransform { get; init; }
    public string CrsWkt { get; init; } = "";
    public double? NoData { get; init; }
    /// <summary>Dataset metadata, written to the default domain (GDAL 3.6 drops custom domains on CreateCopy).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>Optional per-band metadata (e.g. wavelength), one dictionary per band.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>>? BandMetadata { get; init; }
    public int BandCount => BandNames.Length;

    /// <summary>The grid of a source scene, or of a sub-window of it (geotransform shifted exactly).</summary>
    public static RasterProfile FromSource(RasterInfo info, Window? window, string[] bandNames)
    {
        var w = window ?? new Window(0, 0, info.Width, info.Height);
        return new RasterProfile
        {
            Width = w.Width,
            Height = w.Height,
            BandNames = bandNames,
            GeoTransform = info.GeoTransformFor(w),
            CrsWkt = info.CrsWkt,
        };
    }
}

/// <summary>
/// Writes a raster tile by tile under a temporary name in the destination folder; the file gets its final name only
/// when the <see cref="OutputSet"/> it belongs to is committed, and disposing an uncommitted sink deletes everything
/// it wrote. Memory is bounded by the tile, not the scene. <see cref="WriteTile"/> is thread-safe and accepts tiles
/// in any order.
/// </summary>
internal sealed class RasterSink : IDisposable
{
    private readonly Lock _gate = new();
    private readonly string _finalPath;
    private readonly string _tempPath;
    private readonly RasterFormat _format;
    private readonly OutputSet _set;
    private readonly bool _ownsSet;
    private GdalDataset? _ds;
    private bool _finished;

    private RasterSink(string finalPath, string tempPath, RasterFormat format, OutputSet set, bool ownsSet, GdalDataset ds, RasterProfile profile)
    {
        _finalPath = finalPath;
        _tempPath = tempPath;
        _format = format;
        _set = set;
        _ownsSet = ownsSet;
        _ds = ds;
        Profile = profile;
    }

    public RasterProfile Profile { get; }
    public string Path => _finalPath;

    /// <summary>
    /// Creates a raster that is its own output set: <see cref="Commit"/> puts it in place. Fails at once if the
    /// output exists and <paramref name="overwrite"/> is false.
    /// </summary>
    public static RasterSink Create(string path, RasterProfile profile, RasterFormat format, bool overwrite = false, int blockSize = 256)
    {
        var full = System.IO.Path.GetFullPath(path);
        var set = OutputSet.Begin(FinalFiles(full, format), [], overwrite, [full + ".aux.xml"]);
        try
        {
            return Create(set, full, profile, format, blockSize, ownsSet: true);
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates a raster that is part of a larger output set (<see cref="FinalFiles"/> must be among its outputs):
    /// <see cref="Commit"/> completes the file, and the set's commit puts it in place with the others.
    /// </summary>
    public static RasterSink Create(OutputSet set, string path, RasterProfile profile, RasterFormat format, int blockSize = 256) =>
        Create(set, System.IO.Path.GetFullPath(path), profile, format, blockSize, ownsSet: false);

    private static RasterSink Create(OutputSet set, string full, RasterProfile profile, RasterFormat format, int blockSize, bool ownsSet)
    {
        if (profile.Width < 1 || profile.Height < 1 || profile.BandCount < 1)
            throw new ArgumentException($"cannot write a {profile.Width}x{profile.Height} raster with {profile.BandCount} bands");
        var temp = set.Temp(full);
        if (format == RasterFormat.Cog) temp = System.IO.Path.ChangeExtension(temp, ".gtiff.tif");
        var options = format == RasterFormat.Envi
            ? new[] { "INTERLEAVE=BSQ" }
            : ["TILED=YES", $"BLOCKXSIZE={blockSize}", $"BLOCKYSIZE={blockSize}", "COMPRESS=DEFLATE", "PREDICTOR=3", "BIGTIFF=IF_SAFER", "INTERLEAVE=BAND",
                // DEFLATE's fastest level: float abundances hold little redundancy beyond what the predictor exposes.
                // Measured on a 1000 x 1000 x 6 float32 output, 2 cores: level 6 0.34 s and 20.79 MB, level 1 0.21 s
                // and 21.09 MB (+1.4%); uncompressed 0.09 s and 25.17 MB.
                "ZLEVEL=1",
                // GDAL compresses blocks on its own threads (each block alone: the values do not change); measured
                // fcls 1000 x 1000 x 224: 3.65-3.70 s -> 2.99-3.17 s.
                "NUM_THREADS=ALL_CPUS"];
        GdalDataset ds;
        try
        {
            ds = GdalDataset.Create(format == RasterFormat.Envi ? "ENVI" : "GTiff", temp, profile.Width, profile.Height, profile.BandCount,
                GdalDataType.Float32, options);
        }
        catch (GdalException e)
        {
            throw new RasterOutputException(full, $"cannot create the output: {e.Message}", e);
        }
        var sink = new RasterSink(full, temp, format, set, ownsSet, ds, profile);
        try
        {
            sink.WriteHeader();
        }
        catch (GdalException e)
        {
            sink.Dispose();
            throw new RasterOutputException(full, $"cannot write the output's georeferencing or metadata: {e.Message}", e);
        }
        return sink;
    }

    private void WriteHeader()
    {
        var ds = _ds!;
        if (Profile.GeoTransform is { } gt) ds.SetGeoTransform(gt);
        if (!string.IsNullOrEmpty(Profile.CrsWkt)) ds.SetProjection(Profile.CrsWkt);
        foreach (var (k, v) in Profile.Metadata) ds.SetMetadataItem(k, v);
        for (var b = 0; b < Profile.BandCount; b++)
        {
            var band = ds.GetBand(b + 1);
            band.Description = Profile.BandNames[b];
            if (Profile.NoData is { } nd) band.SetNoData(nd);
            if (Profile.BandMetadata is { } bm)
                foreach (var (k, v) in bm[b]) band.SetMetadataItem(k, v);
        }
        // GDAL's ENVI driver writes its own metadata domain into the .hdr: that is where ENVI readers look.
        if (_format == RasterFormat.Envi && Profile.BandMetadata is { } meta && meta.All(m => m.ContainsKey("wavelength")))
        {
            ds.SetMetadataItem("wavelength", "{" + string.Join(", ", meta.Select(m => m["wavelength"])) + "}", "ENVI");
            if (meta[0].TryGetValue("wavelength_units", out var units)) ds.SetMetadataItem("wavelength_units", units, "ENVI");
        }
        if (_format == RasterFormat.Envi)
        {
            ds.SetMetadataItem("band_names", "{" + string.Join(", ", Profile.BandNames.Select(n => n.Replace(',', ';'))) + "}", "ENVI");
        }
    }

    /// <summary>Writes a band-sequential tile (bands x window area floats) at <paramref name="window"/> of the output grid.</summary>
    public unsafe void WriteTile(Window window, ReadOnlySpan<float> bandSequential)
    {
        if (!new Window(0, 0, Profile.Width, Profile.Height).Contains(window) || window.IsEmpty)
            throw new ArgumentOutOfRangeException(nameof(window), $"{window} is outside the {Profile.Width}x{Profile.Height} output");
        var n = window.Area;
        if (bandSequential.Length != n * Profile.BandCount)
            throw new ArgumentException($"tile holds {bandSequential.Length} samples, expected {n * Profile.BandCount}");
        Span<int> map = stackalloc int[Math.Min(Profile.BandCount, 256)];
        var bands = Profile.BandCount <= 256 ? map[..Profile.BandCount] : new int[Profile.BandCount];
        for (var i = 0; i < bands.Length; i++) bands[i] = i + 1;
        lock (_gate)
        {
            var ds = _ds ?? throw new ObjectDisposedException(_finalPath);
            try
            {
                fixed (float* p = bandSequential)
                    ds.RasterIO(true, window.ColOff, window.RowOff, window.Width, window.Height, p, GdalDataType.Float32, bands, 4, 4L * window.Width, 4L * n);
            }
            catch (GdalException e)
            {
                // Report it as the output's failure (disk full, I/O error): callers need not guess from file names.
                throw new RasterOutputException(_finalPath, $"cannot write tile {window}: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// Flushes and completes the file (COG: the copy with overviews); a sink created alone is then moved to its
    /// final name, one created in a larger set waits for the set's commit.
    /// </summary>
    public void Commit()
    {
        lock (_gate)
        {
            var ds = _ds ?? throw new InvalidOperationException("the sink was already committed or disposed");
            var files = ds.FileList.ToList();
            _ds = null;
            try
            {
                // Close flushes the last blocks: disk-full and I/O errors surface here.
                ds.Close();
                if (_format == RasterFormat.Cog)
                {
                    var cog = _set.Temp(_finalPath);
                    using (var src = GdalDataset.Open(_tempPath))
                    using (var copy = src.CreateCopy("COG", cog, ["COMPRESS=DEFLATE", "PREDICTOR=YES", "OVERVIEWS=AUTO", "BLOCKSIZE=256", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]))
                        copy.Close();
                    DeleteAll(files);
                }
                else
                {
                    if (_format == RasterFormat.Envi) FixEnviDescription(System.IO.Path.ChangeExtension(_tempPath, ".hdr"));
                    // Files GDAL put beside the temporary (.aux.xml) follow it to the final name.
                    foreach (var f in files.Where(File.Exists).Where(f => f.StartsWith(_tempPath, StringComparison.Ordinal) && f != _tempPath))
                        _set.Adopt(f, _finalPath + f[_tempPath.Length..]);
                }
                _finished = true;
                if (_ownsSet) _set.Commit();
            }
            catch (Exception e) when (e is GdalException or IOException)
            {
                throw new RasterOutputException(_finalPath, $"cannot complete the output: {e.Message}", e);
            }
            finally
            {
                if (!_finished) DeleteAll(files);
                ds.Dispose();
            }
        }
    }

    /// <summary>GDAL's ENVI driver writes the (temporary) file name as the description; name the output instead.</summary>
    private void FixEnviDescription(string hdr)
    {
        if (!File.Exists(hdr)) return;
        var text = File.ReadAllText(hdr);
        var start = text.IndexOf("description = {", StringComparison.Ordinal);
        var end = start < 0 ? -1 : text.IndexOf('}', start);
        if (end < 0) return;
        var description = Profile.Metadata.GetValueOrDefault("DESCRIPTION") ?? $"{System.IO.Path.GetFileName(_finalPath)}, written by HyperUnmix.Geo";
        File.WriteAllText(hdr, text[..start] + "description = {" + description.Replace('}', ')') + text[end..]);
    }

    /// <summary>The files the final output consists of (ENVI: the .img and its .hdr).</summary>
    public static IEnumerable<string> FinalFiles(string path, RasterFormat format)
    {
        yield return path;
        if (format == RasterFormat.Envi) yield return System.IO.Path.ChangeExtension(path, ".hdr");
    }

    private void DeleteAll(IEnumerable<string> files)
    {
        foreach (var f in files.Append(_tempPath).Append(System.IO.Path.ChangeExtension(_tempPath, ".hdr")).Append(_tempPath + ".aux.xml"))
        {
            try { if (File.Exists(f)) File.Delete(f); }
            catch (IOException) { /* best effort: the original error matters more */ }
        }
    }

    /// <summary>Abandons an uncommitted output, deleting the temporary files (and, for a sink alone, its set).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_ds is { } ds)
            {
                // FileList before Dispose: the handle is gone after it.
                var files = ds.FileList.ToList();
                _ds = null;
                ds.Dispose();
                DeleteAll(files);
            }
            if (_ownsSet) _set.Dispose();
        }
    }
}
