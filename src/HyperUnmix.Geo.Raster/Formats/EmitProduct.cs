using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster;

/// <summary>
/// EMIT L2A reflectance (<c>EMIT_L2A_RFL_*.nc</c>, NetCDF-4): <c>reflectance(downtrack, crosstrack, bands)</c> in
/// sensor geometry, <c>sensor_band_parameters/{wavelengths, fwhm, good_wavelengths}</c>, and the geolocation table
/// <c>location/{glt_x, glt_y}(ortho_y, ortho_x)</c>: for each cell of the map grid, the 1-based crosstrack column and
/// downtrack row of the pixel that lies there (0: none; EMIT marks filled cells negative, so the magnitude is used).
/// The map grid is the root attributes <c>geotransform</c> and <c>spatial_ref</c>. GDAL 3.6 cannot orthorectify
/// through a GLT, so the reader writes the orthorectified cube to a temporary GeoTIFF (float32, -9999 where no pixel
/// lies or the product's fill value is) that the scene reads, and removes it when the scene is closed.
/// <para>
/// The L2A MASK product beside it (<c>EMIT_L2A_MASK_*</c>, same name otherwise) gives the masks: <c>mask(downtrack,
/// crosstrack, bands)</c> with the band names in <c>sensor_band_parameters/mask_bands</c>, on the reflectance's swath;
/// its flag bands ("Cloud flag", ..., "Aggregate Flag"; not the data bands AOD550 and H2O) are orthorectified through
/// the same GLT. By default CLOUD, CIRRUS, SPACECRAFT and DILATED_CLOUD apply, the set LP DAAC's guide uses; WATER is a
/// material, and AGGREGATE (the mission's mineralogy mask) includes it, so both are there to choose with --masks.
/// </para>
/// </summary>
internal sealed class EmitProduct : ISceneProduct
{
    public string Name => "EMIT";
    private const float Fill = GltOrtho.Fill;
    /// <summary>The flags applied by default (LP DAAC's "How to use EMIT quality data": bands 1, 2, 4 and 5).</summary>
    private static readonly string[] DefaultMasks = ["CLOUD", "CIRRUS", "SPACECRAFT", "DILATED_CLOUD"];

    public ProductScene? Resolve(string path)
    {
        if (!File.Exists(path) || !path.EndsWith(".nc", StringComparison.OrdinalIgnoreCase)) return null;
        var named = System.IO.Path.GetFileName(path).StartsWith("EMIT_", StringComparison.OrdinalIgnoreCase);
        if (named) Hdf5Files.CheckComplete(path);
        GdalMultiDimFile file;
        try { file = GdalMultiDimFile.Open(path); }
        catch (GdalException e) when (named)
        {
            throw new RasterDataException(path, $"is not a readable EMIT NetCDF file (truncated?): {e.Message}");
        }
        catch (GdalException) { return null; }
        using (file)
        {
            using var refl = file.Root.TryOpenArray("reflectance");
            using var bandsGroup = file.Root.TryOpenGroup("sensor_band_parameters");
            using var location = file.Root.TryOpenGroup("location");
            if (refl is null || bandsGroup is null || location is null)
            {
                if (!named) return null;
                throw new RasterDataException(path, $"is not an EMIT L2A reflectance product: {(refl is null ? "reflectance" : bandsGroup is null ? "sensor_band_parameters" : "location")} is missing");
            }
            var shape = refl.Shape;
            if (shape.Length != 3) throw new RasterDataException(path, $"reflectance has {shape.Length} dimensions, not (downtrack, crosstrack, bands)");
            int down = (int)shape[0], cross = (int)shape[1], n = (int)shape[2];
            double[] Vector(string name, bool required = true)
            {
                using var a = bandsGroup.TryOpenArray(name);
                if (a is null) return required ? throw new RasterDataException(path, $"sensor_band_parameters/{name} is missing") : null!;
                var s = a.Shape;
                if (s.Length != 1 || (int)s[0] != n)
                    throw new RasterDataException(path, $"sensor_band_parameters/{name} has {string.Join(" x ", s)} values but reflectance has {n} bands");
                var v = new double[n];
                a.Read([0], [(ulong)n], v.AsSpan());
                return v;
            }
            var wavelengths = Vector("wavelengths");
            var fwhm = Vector("fwhm");
            var good = Vector("good_wavelengths", required: false);
            var gt = file.Root.GetDoubleAttribute("geotransform");
            if (gt is not { Length: 6 }) throw new RasterDataException(path, "the root attribute geotransform is missing or not 6 numbers");
            var srs = file.Root.GetStringAttribute("spatial_ref");
            if (string.IsNullOrWhiteSpace(srs)) throw new RasterDataException(path, "the root attribute spatial_ref is missing");
            var fill = (float)(refl.NoData ?? Fill);

            var (index, ox, oy) = ReadGlt(path, location, down, cross);
            var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"hyperunmix-emit-{Guid.NewGuid():N}.tif");
            try
            {
                WriteOrtho(temp, refl, index, ox, oy, down, cross, n, gt, srs, fill);
            }
            catch
            {
                File.Delete(temp);
                throw;
            }
            var maskFile = MaskBeside(path);
            IReadOnlyList<ProductMaskFile> masks = maskFile is null ? [] : ReadMaskBands(maskFile, index, down, cross);
            return new ProductScene
            {
                Sensor = Name,
                Level = "L2A RFL",
                Masks = masks,
                DatasetPath = temp,
                TemporaryFile = temp,
                MetadataFile = path,
                BandCount = n,
                Wavelengths = wavelengths,
                Fwhm = fwhm,
                BadBands = good is null ? [] : Enumerable.Range(0, n).Where(b => good[b] == 0).ToArray(),
                Reflectance = true,
                Files = maskFile is null ? [path] : [path, maskFile],
            };
        }
    }

    /// <summary>The L2A MASK file of the reflectance file <paramref name="path"/> names, when it is beside it.</summary>
    private static string? MaskBeside(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        var at = name.IndexOf("_L2A_RFL_", StringComparison.OrdinalIgnoreCase);
        if (at < 0) return null;
        var mask = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!, name[..at] + "_L2A_MASK_" + name[(at + 9)..]);
        return File.Exists(mask) ? mask : null;
    }

    /// <summary>"Dilated Cloud Flag" -> DILATED_CLOUD; null for a band that is not a flag (AOD550, H2O).</summary>
    internal static string? FlagName(string? band)
    {
        var t = band?.Trim() ?? "";
        if (!t.EndsWith("flag", StringComparison.OrdinalIgnoreCase)) return null;
        var name = string.Concat(t[..^4].Trim().Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_'));
        while (name.Contains("__", StringComparison.Ordinal)) name = name.Replace("__", "_", StringComparison.Ordinal);
        name = name.Trim('_');
        return name.Length == 0 ? null : name;
    }

    /// <summary>
    /// The flag bands of the MASK file, each read (when chosen) from the swath and put on the map grid through the
    /// reflectance's GLT <paramref name="index"/>: 1 where the flag is set (a positive value; -9999 is EMIT's fill).
    /// </summary>
    private static List<ProductMaskFile> ReadMaskBands(string maskFile, int[] index, int down, int cross)
    {
        Hdf5Files.CheckComplete(maskFile);
        string?[] names;
        try
        {
            using var file = GdalMultiDimFile.Open(maskFile);
            using var mask = file.Root.TryOpenArray("mask") ?? throw new RasterDataException(maskFile, "is not an EMIT L2A MASK product: mask is missing");
            using var group = file.Root.TryOpenGroup("sensor_band_parameters") ?? throw new RasterDataException(maskFile, "sensor_band_parameters is missing");
            using var bands = group.TryOpenArray("mask_bands") ?? throw new RasterDataException(maskFile, "sensor_band_parameters/mask_bands is missing");
            var shape = mask.Shape;
            if (shape.Length != 3 || (int)shape[0] != down || (int)shape[1] != cross)
                throw new RasterDataException(maskFile, $"mask is {string.Join(" x ", shape)} but the reflectance's swath is {down} x {cross} (downtrack x crosstrack x bands expected)");
            names = bands.ReadStrings();
            if (names.Length != (int)shape[2])
                throw new RasterDataException(maskFile, $"sensor_band_parameters/mask_bands names {names.Length} bands but mask has {shape[2]}");
        }
        catch (GdalException e) { throw new RasterDataException(maskFile, $"is not a readable EMIT MASK NetCDF file (truncated?): {e.Message}"); }
        var bandCount = names.Length;
        byte[][] ReadBands(IReadOnlyList<int> wanted)
        {
            // The whole array in one read: it is stored bands-last, so a band alone would decompress every chunk.
            var swath = new float[down * cross * bandCount];
            try
            {
                using var file = GdalMultiDimFile.Open(maskFile);
                using var mask = file.Root.TryOpenArray("mask")!;
                mask.Read([0, 0, 0], [(ulong)down, (ulong)cross, (ulong)bandCount], swath.AsSpan());
            }
            catch (GdalException e) { throw new RasterDataException(maskFile, $"cannot read mask: {e.Message}"); }
            return wanted.Select(band =>
            {
                var map = new byte[index.Length];
                for (var i = 0; i < map.Length; i++)
                    if (index[i] >= 0 && swath[index[i] * bandCount + band - 1] > 0) map[i] = 1;
                return map;
            }).ToArray();
        }
        var masks = new List<ProductMaskFile>();
        for (var j = 0; j < names.Length; j++)
        {
            if (FlagName(names[j]) is not { } name || masks.Any(m => m.Name == name)) continue;
            masks.Add(new ProductMaskFile(name, maskFile, DefaultMasks.Contains(name)) { Band = j + 1, ReadBands = ReadBands });
        }
        return masks;
    }

    /// <summary>For each map cell (row-major, <c>ox</c> x <c>oy</c>), the sensor pixel (row x cross + col) that lies there, or -1.</summary>
    private static (int[] Index, int Ox, int Oy) ReadGlt(string path, GdalGroup location, int down, int cross)
    {
        using var gx = location.TryOpenArray("glt_x") ?? throw new RasterDataException(path, "location/glt_x is missing");
        using var gy = location.TryOpenArray("glt_y") ?? throw new RasterDataException(path, "location/glt_y is missing");
        var shape = gx.Shape;
        if (shape.Length != 2 || !gy.Shape.SequenceEqual(shape))
            throw new RasterDataException(path, $"location/glt_x ({string.Join(" x ", shape)}) and location/glt_y ({string.Join(" x ", gy.Shape)}) must be one 2-D map grid");
        int oy = (int)shape[0], ox = (int)shape[1];
        var xs = new int[ox * oy];
        var ys = new int[ox * oy];
        gx.Read([0, 0], [(ulong)oy, (ulong)ox], xs.AsSpan());
        gy.Read([0, 0], [(ulong)oy, (ulong)ox], ys.AsSpan());
        var index = GltOrtho.Index(path, xs, ys, ox, cross, down, "location/glt_x", "crosstrack pixels", "location/glt_y", "downtrack lines");
        return (index, ox, oy);
    }

    private static void WriteOrtho(string temp, GdalMDArray refl, int[] index, int ox, int oy, int down, int cross, int n,
        double[] gt, string srs, float fill)
    {
        using var ortho = new GltOrtho(temp, index, ox, oy, n, gt, srs);
        // The cube is stored bands-last (EMIT chunks hold every band of a patch): read it a block of bands at a time,
        // so that each chunk is decompressed n / BandBlock times rather than n times.
        const int BandBlock = 16;
        var swath = new float[down * cross * Math.Min(BandBlock, n)];
        for (var b0 = 0; b0 < n; b0 += BandBlock)
        {
            var k = Math.Min(BandBlock, n - b0);
            refl.Read([0, 0, (ulong)b0], [(ulong)down, (ulong)cross, (ulong)k], swath.AsSpan(0, down * cross * k));
            for (var q = 0; q < k; q++) ortho.WriteBand(b0 + q, swath, k, q, fill);
        }
        ortho.Complete();
    }
}
