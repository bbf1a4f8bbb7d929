using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster.Tests;

/// <summary>
/// Sensor products built to their specifications from a real scene (an EnMAP L2A tile of ../shared/datasets), with a
/// deliberately uneven scale: each band has its own gain and offset, so a reader that applies one scale to all, the
/// image's own scale tag, or none, reads wrong reflectances.
/// </summary>
public static class ProductFixtures
{
    public static string RepoRoot => Repo.Root;

    /// <summary>The real EnMAP L2A tile the fixtures are made of (32 x 32 pixels, 224 bands, reflectance x 10,000 with a 0.0001 scale).</summary>
    public static string EnmapTile => Repo.Dataset("enmap_potsdam/enmap_potsdam_tile_64_0.tif");

    /// <summary>Band b's gain and offset in the fixture's METADATA.XML: three gains and two offsets in turn.</summary>
    public static (double Gain, double Offset) Scaling(int b) => (0.0001 * (1 + b % 3), (b % 2) * 0.005);

    /// <summary>Pixels (col, row) each mask flags: PIXELMASK one pixel, CLOUD a 4 x 3 block, HAZE one pixel (inside the cloud too), SNOW none.</summary>
    public static readonly Dictionary<string, (int Col, int Row)[]> MaskPixels = new()
    {
        ["PIXELMASK"] = [(3, 5)],
        ["CLOUD"] = [.. from r in Enumerable.Range(10, 3) from c in Enumerable.Range(20, 4) select (c, r)],
        ["HAZE"] = [(0, 31), (21, 11)],
        ["SNOW"] = [],
    };

    public sealed record Enmap(string Folder, string Xml, string Image, float[] Reflectance, int Width, int Height, int Bands,
        double[] Wavelengths, double[] Fwhm, double[] GeoTransform);

    /// <summary>
    /// An EnMAP L2A product in <paramref name="folder"/>: the tile's reflectance as Int16 DN under per-band gains and
    /// offsets (<see cref="Scaling"/>), in a GeoTIFF (or ENVI BSQ with <paramref name="envi"/>), a METADATA.XML
    /// listing the bands in reverse order, and QL masks. <paramref name="xmlBands"/> writes another band count.
    /// </summary>
    public static unsafe Enmap WriteEnmap(string folder, bool envi = false, int? xmlBands = null, bool masks = true)
    {
        Directory.CreateDirectory(folder);
        const string prefix = "ENMAP01-____L2A-DT0000001234_20220724T104526Z_001_V010110_20230101T000000Z";
        using var src = RasterSource.Open(EnmapTile);
        var info = src.Info;
        int w = info.Width, h = info.Height, n = info.BandCount, area = w * h;
        var refl = new float[n * area];
        var valid = new byte[n * area];
        src.ReadSamples(src.Extent, src.AllBands, refl, valid);
        var dn = new short[n * area];
        for (var b = 0; b < n; b++)
        {
            var (g, o) = Scaling(b);
            for (var p = 0; p < area; p++)
            {
                var i = b * area + p;
                if (valid[i] == 0) { dn[i] = -32768; refl[i] = float.NaN; continue; }
                dn[i] = (short)Math.Round((refl[i] - o) / g);
                refl[i] = (float)(dn[i] * g + o);
            }
        }
        var image = System.IO.Path.Combine(folder, prefix + "-SPECTRAL_IMAGE." + (envi ? "BSQ" : "TIF"));
        using (var ds = GdalDataset.Create(envi ? "ENVI" : "GTiff", image, w, h, n, GdalDataType.Int16, envi ? ["INTERLEAVE=BSQ"] : ["INTERLEAVE=BAND"]))
        {
            ds.SetGeoTransform(info.GeoTransform!);
            ds.SetProjection(info.CrsWkt);
            fixed (short* p = dn) ds.RasterIO(true, 0, 0, w, h, p, GdalDataType.Int16, Enumerable.Range(1, n).ToArray(), 2, 2L * w, 2L * area);
            ds.Close();
        }
        var xml = System.IO.Path.Combine(folder, prefix + "-METADATA.XML");
        var sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<level_X>\n  <base>\n    <format>ENMAP_L2A</format>\n    <level>L2A</level>\n  </base>\n  <specific>\n    <code>L2A</code>\n    <bandCharacterisation>\n");
        var count = xmlBands ?? n;
        for (var b = count - 1; b >= 0; b--)
        {
            var (g, o) = Scaling(b);
            sb.Append(CultureInfo.InvariantCulture,
                $"      <bandID number=\"{b + 1}\">\n        <wavelengthCenterOfBand>{info.Wavelengths![b % n]}</wavelengthCenterOfBand>\n        <FWHMOfBand>{info.Fwhm![b % n]}</FWHMOfBand>\n        <GainOfBand>{g}</GainOfBand>\n        <OffsetOfBand>{o}</OffsetOfBand>\n      </bandID>\n");
        }
        sb.Append("    </bandCharacterisation>\n  </specific>\n</level_X>\n");
        File.WriteAllText(xml, sb.ToString());
        if (masks)
            foreach (var (name, pixels) in MaskPixels)
            {
                var tag = name == "PIXELMASK" ? "QL_PIXELMASK" : "QL_QUALITY_" + name;
                var m = new byte[area];
                foreach (var (c, r) in pixels) m[r * w + c] = 1;
                using var ds = GdalDataset.Create("GTiff", System.IO.Path.Combine(folder, $"{prefix}-{tag}.TIF"), w, h, 1, GdalDataType.Byte);
                ds.SetGeoTransform(info.GeoTransform!);
                ds.SetProjection(info.CrsWkt);
                fixed (byte* p = m) ds.RasterIO(true, 0, 0, w, h, p, GdalDataType.Byte, [1], 1, w, area);
                ds.Close();
            }
        return new Enmap(folder, xml, image, refl, w, h, n, info.Wavelengths!, info.Fwhm!, info.GeoTransform!);
    }

    public sealed record Emit(string Path, int Down, int Cross, int Bands, int MapWidth, int MapHeight, float[] Reflectance,
        double[] Wavelengths, double[] Fwhm, int[] BadBands, double[] GeoTransform, (int Row, int Col) FillPixel)
    {
        /// <summary>The sensor pixel (row, col) the fixture's GLT puts on map cell (row, col), or null: the swath turned a quarter and flipped.</summary>
        public (int Row, int Col)? SourceOf(int mapRow, int mapCol) =>
            mapRow >= 1 && mapRow <= Cross && mapCol >= 1 && mapCol <= Down ? (Down - mapCol, mapRow - 1) : null;
    }

    /// <summary>
    /// An EMIT L2A RFL NetCDF-4 file as the product specification lays it out: root <c>reflectance(downtrack=30,
    /// crosstrack=20, bands=6)</c> with _FillValue -9999, <c>sensor_band_parameters/{wavelengths, fwhm,
    /// good_wavelengths}</c>, <c>location/{glt_x, glt_y}(ortho_y=22, ortho_x=32)</c> (1-based, 0 = no pixel) and the
    /// root attributes <c>geotransform</c> and <c>spatial_ref</c> (EPSG:4326). The GLT turns the swath a quarter and
    /// flips it (<see cref="Emit.SourceOf"/>), with an empty border; one sensor pixel is the fill value.
    /// <paramref name="gltOutside"/> puts one map cell on crosstrack column 21 of 20.
    /// </summary>
    public static Emit WriteEmit(string path, bool gltOutside = false)
    {
        const int down = 30, cross = 20, n = 6, oy = 22, ox = 32;
        var refl = new float[down * cross * n];
        for (var r = 0; r < down; r++)
            for (var c = 0; c < cross; c++)
                for (var b = 0; b < n; b++) refl[(r * cross + c) * n + b] = 0.05f + 0.1f * b + 0.01f * r + 0.001f * c;
        var fillPixel = (Row: 4, Col: 7);
        for (var b = 0; b < n; b++) refl[(fillPixel.Row * cross + fillPixel.Col) * n + b] = -9999f;
        double[] wavelengths = [452.1, 551.7, 1401.3, 1652.9, 2201.4, 2498.8], fwhm = [8.1, 8.3, 8.9, 9.2, 9.6, 10.4];
        double[] good = [1, 1, 0, 1, 1, 0];
        double[] gt = [-118.25, 0.000542, 0, 35.5, 0, -0.000542];
        var fixture = new Emit(path, down, cross, n, ox, oy, refl, wavelengths, fwhm, [2, 5], gt, fillPixel);
        var gx = new int[oy * ox];
        var gy = new int[oy * ox];
        for (var r = 0; r < oy; r++)
            for (var c = 0; c < ox; c++)
                if (fixture.SourceOf(r, c) is { } s) { gy[r * ox + c] = s.Row + 1; gx[r * ox + c] = s.Col + 1; }
        if (gltOutside) gx[5 * ox + 6] = cross + 1;

        using var file = GdalMultiDimFile.Create("netCDF", path);
        var root = file.Root;
        nint dDown = root.CreateDimension("downtrack", down), dCross = root.CreateDimension("crosstrack", cross), dBands = root.CreateDimension("bands", n);
        using (var a = root.CreateArray("reflectance", GdalDataType.Float32, dDown, dCross, dBands))
        {
            a.NoData = -9999;
            a.Write([0, 0, 0], [down, cross, n], (ReadOnlySpan<float>)refl);
        }
        using (var g = root.CreateGroup("sensor_band_parameters"))
        {
            var d = g.CreateDimension("bands", n);
            foreach (var (name, values) in new[] { ("wavelengths", wavelengths), ("fwhm", fwhm), ("good_wavelengths", good) })
            {
                using var a = g.CreateArray(name, GdalDataType.Float64, d);
                a.Write([0], [n], (ReadOnlySpan<double>)values);
            }
            GdalGroup.ReleaseDimension(d);
        }
        using (var g = root.CreateGroup("location"))
        {
            nint dy = g.CreateDimension("ortho_y", oy), dx = g.CreateDimension("ortho_x", ox);
            foreach (var (name, values) in new[] { ("glt_x", gx), ("glt_y", gy) })
            {
                using var a = g.CreateArray(name, GdalDataType.Int32, dy, dx);
                a.Write([0, 0], [oy, ox], (ReadOnlySpan<int>)values);
            }
            GdalGroup.ReleaseDimension(dy);
            GdalGroup.ReleaseDimension(dx);
        }
        root.SetAttribute("geotransform", gt);
        using (var srs = SpatialReference.FromUserInput("EPSG:4326")) root.SetAttribute("spatial_ref", srs.Wkt);
        foreach (var d in new[] { dDown, dCross, dBands }) GdalGroup.ReleaseDimension(d);
        return fixture;
    }

    /// <summary>The sensor pixels (row, col) each flag band of an EMIT MASK fixture sets.</summary>
    public sealed record EmitMask(string Path, IReadOnlyDictionary<string, (int Row, int Col)[]> Flagged);

    /// <summary>
    /// The EMIT L2A MASK file beside <paramref name="e"/> (<c>EMIT_L2A_RFL_</c> becomes <c>EMIT_L2A_MASK_</c>) as the
    /// producer (emit-sds-l2a output_conversion.py) writes it: <c>mask(downtrack, crosstrack, bands=8)</c> float32,
    /// _FillValue -9999 (set at the reflectance's fill pixel), <c>sensor_band_parameters/mask_bands</c> with V001's
    /// names in V001's order and capitals, the data bands AOD550 and H2O positive everywhere (they are not flags), the
    /// aggregate flag the OR of the others (water included), and the swath's <c>location/glt_x, glt_y</c>.
    /// <paramref name="downtrack"/> other than the reflectance's makes a mask of the wrong shape.
    /// </summary>
    public static EmitMask WriteEmitMask(Emit e, int? downtrack = null)
    {
        var name = System.IO.Path.GetFileName(e.Path);
        var path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(e.Path)!, name.Replace("_L2A_RFL_", "_L2A_MASK_", StringComparison.Ordinal));
        int down = downtrack ?? e.Down, cross = e.Cross;
        string[] bands = ["Cloud flag", "Cirrus flag", "Water flag", "Spacecraft Flag", "Dilated Cloud Flag", "AOD550", "H2O (g cm-2)", "Aggregate Flag"];
        var flagged = new Dictionary<string, (int Row, int Col)[]>
        {
            ["CLOUD"] = [(2, 3)],
            ["CIRRUS"] = [(5, 5)],
            ["WATER"] = [(10, 1), (10, 2), (11, 1)],
            ["SPACECRAFT"] = [(20, 15)],
            ["DILATED_CLOUD"] = [(2, 4), (3, 3)],
        };
        flagged["AGGREGATE"] = flagged.Values.SelectMany(v => v).Distinct().ToArray();
        var mask = new float[down * cross * bands.Length];
        for (var r = 0; r < down; r++)
            for (var c = 0; c < cross; c++)
            {
                var at = (r * cross + c) * bands.Length;
                mask[at + 5] = 0.08f; // AOD550
                mask[at + 6] = 1.7f;  // H2O
                if ((r, c) == e.FillPixel) for (var b = 0; b < bands.Length; b++) mask[at + b] = -9999;
            }
        foreach (var (flag, pixels) in flagged)
        {
            var b = flag switch { "CLOUD" => 0, "CIRRUS" => 1, "WATER" => 2, "SPACECRAFT" => 3, "DILATED_CLOUD" => 4, _ => 7 };
            foreach (var (r, c) in pixels) mask[(r * cross + c) * bands.Length + b] = 1;
        }
        using var file = GdalMultiDimFile.Create("netCDF", path);
        var root = file.Root;
        nint dDown = root.CreateDimension("downtrack", (ulong)down), dCross = root.CreateDimension("crosstrack", (ulong)cross), dBands = root.CreateDimension("bands", (ulong)bands.Length);
        using (var a = root.CreateArray("mask", GdalDataType.Float32, dDown, dCross, dBands))
        {
            a.NoData = -9999;
            a.Write([0, 0, 0], [(ulong)down, (ulong)cross, (ulong)bands.Length], (ReadOnlySpan<float>)mask);
        }
        using (var g = root.CreateGroup("sensor_band_parameters"))
        {
            var d = g.CreateDimension("bands", (ulong)bands.Length);
            using (var a = g.CreateStringArray("mask_bands", d)) a.WriteStrings(bands);
            GdalGroup.ReleaseDimension(d);
        }
        root.SetAttribute("geotransform", e.GeoTransform);
        foreach (var d in new[] { dDown, dCross, dBands }) GdalGroup.ReleaseDimension(d);
        return new EmitMask(path, flagged);
    }

    public sealed record Aviris(string Cube, string Glt, int Lines, int Samples, int Bands, int MapWidth, int MapHeight, float[] Values,
        double[] Wavelengths, double[] Fwhm, int[] BadBands, double[] GeoTransform, (int Line, int Sample) FillPixel)
    {
        /// <summary>
        /// The cube pixel (line, sample) the GLT puts on map cell (row, col), or null: the swath turned a quarter and
        /// flipped, and map row 0 filled from row 1 (negative entries, as AVIRIS-NG marks nearest-neighbour infill).
        /// </summary>
        public (int Line, int Sample)? SourceOf(int mapRow, int mapCol) =>
            mapRow == 0 ? SourceOf(1, mapCol)
            : mapRow >= 1 && mapRow <= Samples && mapCol >= 1 && mapCol <= Lines ? (Lines - mapCol, mapRow - 1) : null;
    }

    /// <summary>
    /// An AVIRIS-NG flight line as JPL delivers it: the reflectance cube <c>ang..._rfl_v2z1_img</c> (ENVI, BIL, float32,
    /// 30 lines x 20 samples x 6 bands, <c>data ignore value = -9999</c> at one pixel, wavelengths in micrometres,
    /// <c>bbl</c> flagging band 3) and the GLT <c>ang..._rdn_v2z1_ort_glt</c> (ENVI, BIP, int32, 2 bands sample and
    /// line, 1-based, 0 = none, negative = infill) on a 32 x 22 UTM grid given by its <c>map info</c>. With
    /// <paramref name="orthocorrected"/> the cube is written on the GLT's grid instead (its size); with
    /// <paramref name="gltOutside"/> one map cell names sample 21 of 20.
    /// </summary>
    public static Aviris WriteAviris(string folder, bool orthocorrected = false, bool gltOutside = false)
    {
        Directory.CreateDirectory(folder);
        const string line = "ang20230101t101010";
        const int ox = 32, oy = 22, n = 6;
        int lines = orthocorrected ? oy : 30, samples = orthocorrected ? ox : 20;
        double[] wl = [0.4521, 0.5517, 0.9401, 1.6529, 2.2014, 2.3988], fwhm = [0.0081, 0.0083, 0.0089, 0.0092, 0.0096, 0.0104];
        var values = new float[lines * samples * n];
        var fill = (Line: 4, Sample: 7);
        for (var r = 0; r < lines; r++)
            for (var c = 0; c < samples; c++)
                for (var b = 0; b < n; b++)
                    values[(r * samples + c) * n + b] = (r, c) == fill ? -9999f : 0.05f + 0.1f * b + 0.01f * r + 0.001f * c;
        static string L<T>(IEnumerable<T> v) => "{" + string.Join(", ", v.Select(x => Convert.ToString(x, CultureInfo.InvariantCulture))) + "}";
        // BIL: each line holds every band's samples in turn.
        var cube = System.IO.Path.Combine(folder, line + "_rfl_v2z1_img");
        using (var f = File.Create(cube))
        using (var bw = new BinaryWriter(f))
            for (var r = 0; r < lines; r++)
                for (var b = 0; b < n; b++)
                    for (var c = 0; c < samples; c++) bw.Write(values[(r * samples + c) * n + b]);
        const string mapInfo = "map info = {UTM, 1.000, 1.000, 500000.000, 4000000.000, 5.0000000000e+00, 5.0000000000e+00, 11, North, WGS-84, units=Meters}\n";
        File.WriteAllText(cube + ".hdr", $"ENVI\ndescription = {{AVIRIS-NG reflectance}}\nsamples = {samples}\nlines = {lines}\nbands = {n}\nheader offset = 0\n" +
            $"file type = ENVI Standard\ndata type = 4\ninterleave = bil\nbyte order = 0\ndata ignore value = -9999\n" + (orthocorrected ? mapInfo : "") +
            $"wavelength units = Micrometers\nwavelength = {L(wl)}\nfwhm = {L(fwhm)}\nbbl = {{1, 1, 0, 1, 1, 1}}\n");
        var fixture = new Aviris(cube, System.IO.Path.Combine(folder, line + "_rdn_v2z1_ort_glt"), lines, samples, n, ox, oy, values,
            wl.Select(v => v * 1000).ToArray(), fwhm, [2], [500000, 5, 0, 4000000, 0, -5], fill);
        var glt = new int[oy * ox * 2];
        for (var r = 0; r < oy; r++)
            for (var c = 0; c < ox; c++)
                if (fixture.SourceOf(r, c) is { } p)
                {
                    var sign = r == 0 ? -1 : 1;
                    glt[(r * ox + c) * 2] = sign * (p.Sample + 1);
                    glt[(r * ox + c) * 2 + 1] = sign * (p.Line + 1);
                }
        if (gltOutside) glt[(5 * ox + 6) * 2] = samples + 1;
        using (var f = File.Create(fixture.Glt))
        using (var bw = new BinaryWriter(f))
            foreach (var v in glt) bw.Write(v);
        File.WriteAllText(fixture.Glt + ".hdr", $"ENVI\ndescription = {{GLT}}\nsamples = {ox}\nlines = {oy}\nbands = 2\nheader offset = 0\nfile type = ENVI Standard\n" +
            $"data type = 3\ninterleave = bip\nbyte order = 0\n{mapInfo}band names = {{GLT Sample Lookup, GLT Line Lookup}}\n");
        return fixture;
    }

    public sealed record Prisma(string Path, int Rows, int Cols, double[] Wavelengths, double[] Fwhm, double[] Scale, double[] Offset,
        Func<int, int, int, double> Reflectance, (int Row, int Col) ErrorPixel, double[] GeoTransform);

    /// <summary>
    /// A PRISMA L2D product as its specification lays it out, written as NetCDF-4 (an HDF5 file that GDAL's HDF5 and
    /// netCDF drivers read; GDAL cannot write HDF5 itself): <c>HDFEOS/SWATHS/PRS_L2D_HCO/Data Fields/{VNIR_Cube,
    /// SWIR_Cube}</c> rows x bands x columns (32 x 5 x 22 and 32 x 4 x 22), UInt16 DN; root attributes
    /// <c>List_Cw_Vnir</c> in descending order as PRISMA stores it, one VNIR band unused (wavelength 0, flag 0) and
    /// one SWIR band flagged 0; VNIR and SWIR with different L2 scales; an error matrix flagging one sample; UTM 32N
    /// corners, as the centres of the corner pixels (EnMAP-Box's and prismaread's reading) or, with
    /// <paramref name="cornersAsEdges"/>, as the image's outer edges.
    /// </summary>
    public static Prisma WritePrisma(string path, bool cornersAsEdges = false)
    {
        const int rows = 32, cols = 22;
        double[] cwV = [905.1, 801.7, 0, 602.4, 498.9], fwV = [11.2, 10.6, 0, 9.1, 8.4], flV = [1, 1, 0, 1, 1];
        double[] cwS = [948.3, 1203.5, 1605.2, 2201.6], fwS = [12.1, 11.4, 10.8, 9.9], flS = [1, 1, 1, 0];
        double vMin = 0, vMax = 1.0, sMin = -0.01, sMax = 0.8;
        int Dn(bool swir, int r, int b, int c) => (swir ? 20000 : 1000) + 700 * b + 37 * r + 11 * c;
        var err = (Row: 3, Col: 4);
        double ulE = 300000, ulN = 5000000;
        double[] gt = [ulE, 30, 0, ulN, 0, -30];
        // The product's bands in wavelength order: (swir, index in its cube).
        var order = new[] { (false, 4), (false, 3), (false, 1), (false, 0), (true, 0), (true, 1), (true, 2) };
        var fixture = new Prisma(path, rows, cols,
            order.Select(o => o.Item1 ? cwS[o.Item2] : cwV[o.Item2]).ToArray(),
            order.Select(o => o.Item1 ? fwS[o.Item2] : fwV[o.Item2]).ToArray(),
            order.Select(o => o.Item1 ? (sMax - sMin) / 65535 : (vMax - vMin) / 65535).ToArray(),
            order.Select(o => o.Item1 ? sMin : vMin).ToArray(),
            (k, r, c) =>
            {
                var (swir, b) = order[k];
                return (swir ? sMin : vMin) + Dn(swir, r, b, c) * ((swir ? sMax - sMin : vMax - vMin) / 65535);
            },
            err, gt);

        using var file = GdalMultiDimFile.Create("netCDF", path);
        var root = file.Root;
        using var hdfeos = root.CreateGroup("HDFEOS");
        using var swaths = hdfeos.CreateGroup("SWATHS");
        using var swath = swaths.CreateGroup("PRS_L2D_HCO");
        using var fields = swath.CreateGroup("Data Fields");
        nint dRows = fields.CreateDimension("nrows", rows), dCols = fields.CreateDimension("ncols", cols);
        nint dV = fields.CreateDimension("nvnir", 5), dS = fields.CreateDimension("nswir", 4);
        foreach (var (name, swir, n, dim) in new[] { ("VNIR", false, 5, dV), ("SWIR", true, 4, dS) })
        {
            var dn = new short[rows * n * cols];
            var e = new byte[rows * n * cols];
            for (var r = 0; r < rows; r++)
                for (var b = 0; b < n; b++)
                    for (var c = 0; c < cols; c++) dn[(r * n + b) * cols + c] = unchecked((short)(ushort)Dn(swir, r, b, c));
            if (!swir) e[(err.Row * n + 1) * cols + err.Col] = 2;
            using (var a = fields.CreateArray(name + "_Cube", GdalDataType.UInt16, dRows, dim, dCols))
                a.Write([0, 0, 0], [rows, (ulong)n, cols], (ReadOnlySpan<short>)dn);
            using (var a = fields.CreateArray(name + "_PIXEL_L2_ERR_MATRIX", GdalDataType.Byte, dRows, dim, dCols))
                a.Write([0, 0, 0], [rows, (ulong)n, cols], (ReadOnlySpan<byte>)e);
        }
        foreach (var d in new[] { dRows, dCols, dV, dS }) GdalGroup.ReleaseDimension(d);
        foreach (var (name, v) in new (string, double[])[]
                 {
                     ("List_Cw_Vnir", cwV), ("List_Fwhm_Vnir", fwV), ("List_Cw_Vnir_Flags", flV),
                     ("List_Cw_Swir", cwS), ("List_Fwhm_Swir", fwS), ("List_Cw_Swir_Flags", flS),
                     ("L2ScaleVnirMin", [vMin]), ("L2ScaleVnirMax", [vMax]), ("L2ScaleSwirMin", [sMin]), ("L2ScaleSwirMax", [sMax]),
                     ("Epsg_Code", [32632]), ("Product_ULcorner_easting", [ulE]), ("Product_ULcorner_northing", [ulN]),
                     ("Product_LRcorner_easting", [ulE + cols * 30]), ("Product_LRcorner_northing", [ulN - rows * 30]),
                 }.Select(a => cornersAsEdges || !a.Item1.StartsWith("Product_", StringComparison.Ordinal) ? a
                     // Centres of the corner pixels: half a pixel inside each edge.
                     : (a.Item1, new[] { a.Item2[0] + (a.Item1.Contains("UL") == a.Item1.EndsWith("easting", StringComparison.Ordinal) ? 15 : -15) })))
            root.SetAttribute(name, v);
        return fixture;
    }

    /// <summary>The QL_QUALITY-2 band (1-based) and pixel (row, col) each DESIS quality flag of the fixture sets.</summary>
    public static readonly (int Band, (int Row, int Col) Pixel)[] DesisQuality =
        [(1, (1, 1)), (3, (2, 2)), (4, (3, 3)), (5, (4, 4)), (6, (5, 5)), (7, (6, 6)), (7, (6, 7))];
    /// <summary>The fixture's one water pixel (QL band 8, land 0): a class, not a defect.</summary>
    public static readonly (int Row, int Col) DesisWaterPixel = (8, 8);

    public sealed record Desis(string Folder, string Image, string Header, int Width, int Height, double[] Wavelengths, double[] Fwhm,
        double[] Gains, double[] Offsets, Func<int, int, int, double> Reflectance, (int Row, int Col) FillPixel);

    /// <summary>
    /// A DESIS L2A product: <c>*-SPECTRAL_IMAGE.tif</c> pixel-interleaved, DEFLATE-compressed Int16 DN (20 x 30 pixels,
    /// 8 bands, nodata -9999 at one pixel), its ENVI-style <c>*-SPECTRAL_IMAGE.hdr</c> with lists over several lines
    /// and per-band gains and offsets, and a METADATA.xml; with <paramref name="quality"/>, the L2A quality layers
    /// <c>*-QL_QUALITY-2.tif</c> (<see cref="DesisQuality"/>).
    /// </summary>
    public static unsafe Desis WriteDesis(string folder, bool quality = false)
    {
        Directory.CreateDirectory(folder);
        const string prefix = "DESIS-HSI-L2A-DT0483021900_003-20200808T100507-V0215";
        const int w = 20, h = 30, n = 8;
        var wl = Enumerable.Range(0, n).Select(b => 401.9 + 72.5 * b).ToArray();
        var fwhm = Enumerable.Range(0, n).Select(b => 3.5 + 0.01 * b).ToArray();
        var gains = Enumerable.Range(0, n).Select(b => 0.0001 * (1 + b % 3)).ToArray();
        var offsets = Enumerable.Range(0, n).Select(b => b % 2 * 0.01).ToArray();
        static int Dn(int b, int r, int c) => 500 + 300 * b + 7 * r + 3 * c;
        var fill = (Row: 12, Col: 9);
        var dn = new short[w * h * n];
        for (var r = 0; r < h; r++)
            for (var c = 0; c < w; c++)
                for (var b = 0; b < n; b++) dn[(r * w + c) * n + b] = (short)((r, c) == fill ? -9999 : Dn(b, r, c));
        var image = System.IO.Path.Combine(folder, prefix + "-SPECTRAL_IMAGE.tif");
        using (var ds = GdalDataset.Create("GTiff", image, w, h, n, GdalDataType.Int16, ["INTERLEAVE=PIXEL", "COMPRESS=DEFLATE"]))
        {
            ds.SetGeoTransform([399000, 30, 0, 5700000, 0, -30]);
            using (var srs = SpatialReference.FromUserInput("EPSG:32633")) ds.SetProjection(srs.Wkt);
            for (var b = 1; b <= n; b++) ds.GetBand(b).SetNoData(-9999);
            fixed (short* p = dn) ds.RasterIO(true, 0, 0, w, h, p, GdalDataType.Int16, Enumerable.Range(1, n).ToArray(), 2L * n, 2L * n * w, 2);
            ds.Close();
        }
        static string L(double[] v) => "{\n " + string.Join(",\n ", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "}";
        var header = System.IO.Path.Combine(folder, prefix + "-SPECTRAL_IMAGE.hdr");
        File.WriteAllText(header, $"ENVI\ndescription = {{DESIS L2A}}\nsamples = {w}\nlines = {h}\nbands = {n}\ndata type = 2\ninterleave = bip\n" +
            $"wavelength units = Nanometers\nwavelength = {L(wl)}\nfwhm = {L(fwhm)}\ndata gain values = {L(gains)}\ndata offset values = {L(offsets)}\n");
        File.WriteAllText(System.IO.Path.Combine(folder, prefix + "-METADATA.xml"), "<hsi_doc/>\n");
        if (quality)
        {
            // QL_QUALITY-2: ten 0/1 bands (1 shadow, 2 land, 3 snow, 4/5 haze over land/water, 6/7 cloud over
            // land/water, 8 water, 9 AOT, 10 water vapour); land everywhere but the water pixel.
            var ql = new byte[10 * w * h];
            for (var k = 0; k < w * h; k++) { ql[1 * w * h + k] = 1; ql[8 * w * h + k] = 12; ql[9 * w * h + k] = 40; }
            foreach (var (band, (r, c)) in DesisQuality) ql[(band - 1) * w * h + r * w + c] = 1;
            var (wr, wc) = DesisWaterPixel;
            ql[1 * w * h + wr * w + wc] = 0;
            var qlFile = System.IO.Path.Combine(folder, prefix + "-QL_QUALITY-2.tif");
            using var ds = GdalDataset.Create("GTiff", qlFile, w, h, 10, GdalDataType.Byte, ["COMPRESS=DEFLATE"]);
            ds.SetGeoTransform([399000, 30, 0, 5700000, 0, -30]);
            fixed (byte* p = ql) ds.RasterIO(true, 0, 0, w, h, p, GdalDataType.Byte, Enumerable.Range(1, 10).ToArray(), 1, w, (long)w * h);
            ds.Close();
        }
        return new Desis(folder, image, header, w, h, wl, fwhm, gains, offsets, (b, r, c) => Dn(b, r, c) * gains[b] + offsets[b], fill);
    }
}
