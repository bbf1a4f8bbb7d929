namespace HyperUnmix.Geo.Raster.Tests;

/// <summary>Sensor products opened by their folder, metadata file or image: metadata, scale, masks and georeference from the product.</summary>
public sealed class ProductTests : IDisposable
{
    private readonly TestRasters _t = new();
    public void Dispose() => _t.Dispose();

    private static readonly string[] DefaultMasks = ["PIXELMASK", "CLOUD", "HAZE", "SNOW"];

    private static HashSet<int> Flagged(ProductFixtures.Enmap p, IEnumerable<string> masks) =>
        masks.SelectMany(m => ProductFixtures.MaskPixels[m]).Select(x => x.Row * p.Width + x.Col).ToHashSet();

    [Theory]
    [InlineData("folder", false)]
    [InlineData("xml", false)]
    [InlineData("image", false)]
    [InlineData("folder", true)]
    [InlineData("image", true)]
    public void Enmap_OpensWithWavelengthsFwhmScaleMasksAndGeoreference(string named, bool envi)
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"), envi);
        var path = named switch { "folder" => p.Folder, "xml" => p.Xml, _ => p.Image };
        using var src = RasterSource.Open(path);
        var i = src.Info;
        Assert.Equal(p.Bands, i.BandCount);
        Assert.Equal(p.Wavelengths, i.Wavelengths);
        Assert.Equal("Nanometers", i.WavelengthUnits);
        Assert.Equal(p.Fwhm, i.Fwhm);
        for (var b = 0; b < p.Bands; b++)
        {
            Assert.Equal(ProductFixtures.Scaling(b).Gain, i.Scale[b], 12);
            Assert.Equal(ProductFixtures.Scaling(b).Offset, i.Offset[b], 12);
        }
        Assert.Equal(p.GeoTransform, i.GeoTransform);
        Assert.Equal(32633, i.Epsg);
        Assert.NotNull(i.Product);
        Assert.Equal("EnMAP", i.Product!.Sensor);
        Assert.Equal("L2A", i.Product.Level);
        Assert.Equal(DefaultMasks.Order(), i.Product.AppliedMasks.Select(m => m.Name).Order());
        var flagged = Flagged(p, DefaultMasks);
        Assert.Equal(flagged.Count, i.Product.MaskedPixels);
        Assert.Contains(System.IO.Path.GetFullPath(p.Xml), src.Files);
        Assert.Contains(System.IO.Path.GetFullPath(p.Image), src.Files);

        // Pixels: reflectance (DN x gain + offset), masked pixels nodata, in both read paths and both layouts.
        int area = p.Width * p.Height, n = p.Bands;
        var bands = Enumerable.Range(0, n).Where(b => b is < 129 or > 134).ToArray(); // bands 130-135 are fill everywhere in the tile
        foreach (var layout in new[] { BufferLayout.BandSequential, BufferLayout.PixelInterleaved })
        {
            var dest = new float[bands.Length * area];
            var valid = new byte[area];
            var count = src.Read(src.Extent, bands, dest, valid, layout);
            Assert.Equal(area - flagged.Count, count);
            for (var px = 0; px < area; px++)
            {
                Assert.Equal(flagged.Contains(px) ? 0 : 1, valid[px]);
                if (valid[px] == 0) continue;
                for (var q = 0; q < bands.Length; q++)
                {
                    var v = layout == BufferLayout.BandSequential ? dest[q * area + px] : dest[px * bands.Length + q];
                    Assert.Equal(p.Reflectance[bands[q] * area + px], v, 5e-6f);
                }
            }
            var samples = new float[bands.Length * area];
            var validSamples = new byte[bands.Length * area];
            src.ReadSamples(src.Extent, bands, samples, validSamples, layout);
            for (var px = 0; px < area; px++)
                Assert.Equal(flagged.Contains(px) ? 0 : 1, validSamples[layout == BufferLayout.BandSequential ? px : px * bands.Length]);
        }
        // Bands 130-135 hold the fill value -32768 (not declared in the image): nodata.
        var b130 = new float[area];
        var v130 = new byte[area];
        src.ReadSamples(src.Extent, [129], b130, v130);
        Assert.All(v130, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Enmap_MasksOption_ChoosesWhichMasksAreNodata()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"));
        int area = p.Width * p.Height;
        foreach (var (masks, expected) in new (string[]?, string[])[] { (["cloud"], ["CLOUD"]), (["none"], []), (["PIXELMASK", "HAZE"], ["PIXELMASK", "HAZE"]) })
        {
            using var src = RasterSource.Open(p.Folder, new RasterOpenOptions { Masks = masks });
            Assert.Equal(expected, src.Info.Product!.AppliedMasks.Select(m => m.Name));
            var valid = new byte[area];
            var count = src.Read(src.Extent, [0, 1, 2], new float[3 * area], valid);
            Assert.Equal(area - Flagged(p, expected).Count, count);
        }
        var e = Assert.Throws<ArgumentException>(() => RasterSource.Open(p.Folder, new RasterOpenOptions { Masks = ["CLOUDS"] }));
        Assert.Contains("CLOUDS", e.Message);
        Assert.Contains("PIXELMASK,CLOUD,HAZE,SNOW", e.Message); // what the product has

    }

    [Fact]
    public void Enmap_WithoutMetadataXml_IsAnErrorNamingIt()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"));
        File.Delete(p.Xml);
        foreach (var path in new[] { p.Folder, p.Image })
        {
            var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(path));
            Assert.Equal(p.Xml, e.Path);
            Assert.Contains("missing", e.Problem);
        }
    }

    [Fact]
    public void Enmap_BandCountDisagreeingWithMetadata_IsAnErrorNamingTheXml()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"), xmlBands: 223, masks: false);
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(p.Folder));
        Assert.Equal(p.Xml, e.Path);
        Assert.Contains("223 bands", e.Problem);
        Assert.Contains("224", e.Problem);
    }

    [Fact]
    public void Enmap_UnreadableField_IsAnErrorNamingTheField()
    {
        var p = ProductFixtures.WriteEnmap(_t.Path("product"), masks: false);
        var text = File.ReadAllText(p.Xml);
        var at = text.IndexOf("<bandID number=\"7\">", StringComparison.Ordinal);
        var g = text.IndexOf("<GainOfBand>", at, StringComparison.Ordinal) + "<GainOfBand>".Length;
        File.WriteAllText(p.Xml, text[..g] + "n/a" + text[text.IndexOf('<', g)..]);
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(p.Xml));
        Assert.Equal(p.Xml, e.Path);
        Assert.Contains("bandID[@number=7]/GainOfBand", e.Problem);
    }

    [Fact]
    public void PlainFile_IsNoProduct_AndRefusesMasks()
    {
        using (var src = RasterSource.Open(ProductFixtures.EnmapTile)) Assert.Null(src.Info.Product);
        Assert.Throws<ArgumentException>(() => RasterSource.Open(ProductFixtures.EnmapTile, new RasterOpenOptions { Masks = ["CLOUD"] }));
    }

    [Fact]
    public void Emit_OrthorectifiedThroughTheGlt_EveryPixelOnTheCellTheGltNames()
    {
        var e = ProductFixtures.WriteEmit(_t.Path("EMIT_L2A_RFL_001_20230101T000000_2300100_001.nc"));
        // The fixture is laid out as the product: GDAL's own view of it.
        var md = System.Text.Json.JsonDocument.Parse(TestRasters.Tool("gdalmdiminfo", e.Path)).RootElement;
        var dims = md.GetProperty("arrays").GetProperty("reflectance").GetProperty("dimensions").EnumerateArray().Select(d => d.GetString()!).ToArray();
        Assert.Equal("/downtrack,/crosstrack,/bands", string.Join(",", dims));
        Assert.True(md.GetProperty("groups").TryGetProperty("location", out var loc) && loc.GetProperty("arrays").TryGetProperty("glt_x", out _), md.ToString());
        Assert.Equal(6, md.GetProperty("attributes").GetProperty("geotransform").GetArrayLength());
        string temp;
        using (var src = RasterSource.Open(e.Path))
        {
            var i = src.Info;
            Assert.Equal((e.MapWidth, e.MapHeight, e.Bands), (i.Width, i.Height, i.BandCount));
            Assert.Equal(e.Wavelengths, i.Wavelengths);
            Assert.Equal(e.Fwhm, i.Fwhm);
            Assert.Equal(e.BadBands, i.BadBands);
            Assert.All(i.Scale, v => Assert.Equal(1, v));
            Assert.Equal(e.GeoTransform, i.GeoTransform);
            Assert.Equal(4326, i.Epsg);
            Assert.Equal("EMIT", i.Product!.Sensor);
            Assert.True(i.Product.Reflectance);
            Assert.Contains(System.IO.Path.GetFullPath(e.Path), src.Files);
            temp = i.Product.ImageFile;
            Assert.True(File.Exists(temp));
            int area = e.MapWidth * e.MapHeight, n = e.Bands;
            var dest = new float[n * area];
            var valid = new byte[area];
            src.Read(src.Extent, src.AllBands, dest, valid, BufferLayout.PixelInterleaved);
            var landed = 0;
            for (var r = 0; r < e.MapHeight; r++)
                for (var c = 0; c < e.MapWidth; c++)
                {
                    var px = r * e.MapWidth + c;
                    if (e.SourceOf(r, c) is not { } s || s == e.FillPixel) { Assert.Equal(0, valid[px]); continue; }
                    Assert.Equal(1, valid[px]);
                    landed++;
                    for (var b = 0; b < n; b++) Assert.Equal(e.Reflectance[(s.Row * e.Cross + s.Col) * n + b], dest[px * n + b]);
                }
            Assert.Equal(e.Down * e.Cross - 1, landed); // every sensor pixel but the fill one, once
        }
        Assert.False(File.Exists(temp)); // the orthorectified cube goes with the scene
    }

    [Fact]
    public void Emit_GltOutsideTheImage_IsAnErrorNamingTheField()
    {
        var e = ProductFixtures.WriteEmit(_t.Path("EMIT_L2A_RFL_bad.nc"), gltOutside: true);
        var x = Assert.Throws<RasterDataException>(() => RasterSource.Open(e.Path));
        Assert.Equal(e.Path, x.Path);
        Assert.Contains("location/glt_x at map cell (col 6, row 5) is 21, outside the image's 20 crosstrack pixels", x.Problem);
    }

    [Fact]
    public void Emit_TruncatedFile_IsAnErrorNamingIt()
    {
        var e = ProductFixtures.WriteEmit(_t.Path("EMIT_L2A_RFL_cut.nc"));
        var bytes = File.ReadAllBytes(e.Path);
        File.WriteAllBytes(e.Path, bytes[..(bytes.Length / 2)]);
        var x = Assert.Throws<RasterDataException>(() => RasterSource.Open(e.Path));
        Assert.Equal(e.Path, x.Path);
        Assert.Contains("truncated", x.Problem);
    }

    /// <summary>
    /// Whether the corner attributes name the corner pixels' centres (EnMAP-Box's and prismaread's reading) or the
    /// image's outer edges (HyperCoast's), the map grid comes out the same: the reader tells them apart by the span.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prisma_CubesMergedInWavelengthOrder_ScaledToReflectance_ErrorsNodata_Georeferenced(bool cornersAsEdges)
    {
        var e = ProductFixtures.WritePrisma(_t.Path("PRS_L2D_STD_20230101103000_20230101103004_0001.he5"), cornersAsEdges);
        // Laid out as the product: the cube rows x bands x columns under the HDF-EOS swath's group path.
        var md = System.Text.Json.JsonDocument.Parse(TestRasters.Tool("gdalmdiminfo", e.Path)).RootElement;
        var vnir = md.GetProperty("groups").GetProperty("HDFEOS").GetProperty("groups").GetProperty("SWATHS").GetProperty("groups")
            .GetProperty("PRS_L2D_HCO").GetProperty("groups").GetProperty("Data Fields").GetProperty("arrays").GetProperty("VNIR_Cube");
        Assert.Equal("UInt16", vnir.GetProperty("datatype").GetString());
        Assert.Equal(3, vnir.GetProperty("dimensions").GetArrayLength());
        using var src = RasterSource.Open(e.Path);
        var i = src.Info;
        Assert.Equal((e.Cols, e.Rows, 7), (i.Width, i.Height, i.BandCount));
        Assert.Equal(e.Wavelengths, i.Wavelengths);
        Assert.Equal(e.Fwhm, i.Fwhm);
        for (var b = 0; b < 7; b++)
        {
            Assert.Equal(e.Scale[b], i.Scale[b], 15);
            Assert.Equal(e.Offset[b], i.Offset[b], 15);
        }
        Assert.Equal(e.GeoTransform, i.GeoTransform);
        Assert.Equal(32632, i.Epsg);
        Assert.Equal("PRISMA", i.Product!.Sensor);
        int area = e.Rows * e.Cols;
        var dest = new float[7 * area];
        var valid = new byte[area];
        Assert.Equal(area - 1, src.Read(src.Extent, src.AllBands, dest, valid));
        for (var r = 0; r < e.Rows; r++)
            for (var c = 0; c < e.Cols; c++)
            {
                var px = r * e.Cols + c;
                if ((r, c) == e.ErrorPixel) { Assert.Equal(0, valid[px]); continue; }
                for (var b = 0; b < 7; b++) Assert.Equal(e.Reflectance(b, r, c), dest[b * area + px], 5e-6);
            }
    }

    [Fact]
    public void Prisma_TruncatedFile_IsAnErrorNamingIt()
    {
        var e = ProductFixtures.WritePrisma(_t.Path("PRS_L2D_cut.he5"));
        var length = new FileInfo(e.Path).Length;
        File.WriteAllBytes(e.Path, File.ReadAllBytes(e.Path)[..4000]);
        var x = Assert.Throws<RasterDataException>(() => RasterSource.Open(e.Path));
        Assert.Equal(e.Path, x.Path);
        // Caught before the HDF5 library sees it (which would print its error stack): the superblock's length.
        Assert.Equal($"truncated: its HDF5 superblock says the file is {length} bytes, it has 4000", x.Problem);
    }

    [Theory]
    [InlineData("folder")]
    [InlineData("image")]
    [InlineData("header")]
    public void Desis_GainsAndOffsetsFromTheHeader(string named)
    {
        var d = ProductFixtures.WriteDesis(_t.Path("desis"));
        using var src = RasterSource.Open(named switch { "folder" => d.Folder, "image" => d.Image, _ => d.Header });
        var i = src.Info;
        Assert.Equal((d.Width, d.Height, 8), (i.Width, i.Height, i.BandCount));
        Assert.Equal(d.Wavelengths, i.Wavelengths);
        Assert.Equal(d.Fwhm, i.Fwhm);
        Assert.Equal(d.Gains, i.Scale);
        Assert.Equal(d.Offsets, i.Offset);
        Assert.Equal(("DESIS", "L2A"), (i.Product!.Sensor, i.Product.Level));
        Assert.Equal(32633, i.Epsg);
        int area = d.Width * d.Height;
        var dest = new float[8 * area];
        var valid = new byte[area];
        Assert.Equal(area - 1, src.Read(src.Extent, src.AllBands, dest, valid));
        for (var r = 0; r < d.Height; r++)
            for (var c = 0; c < d.Width; c++)
            {
                var px = r * d.Width + c;
                if ((r, c) == d.FillPixel) { Assert.Equal(0, valid[px]); continue; }
                for (var b = 0; b < 8; b++) Assert.Equal(d.Reflectance(b, r, c), dest[b * area + px], 5e-6);
            }
    }

    [Fact]
    public void Desis_WithoutItsHeader_IsAnErrorNamingIt()
    {
        var d = ProductFixtures.WriteDesis(_t.Path("desis"));
        File.Delete(d.Header);
        var x = Assert.Throws<RasterDataException>(() => RasterSource.Open(d.Image));
        Assert.Equal(d.Header, x.Path);
        Assert.Contains("missing", x.Problem);
    }

    /// <summary>Validity of every map cell of an EMIT fixture read with the given masks.</summary>
    private static byte[] EmitValid(ProductFixtures.Emit e, RasterOpenOptions? options, out RasterInfo info)
    {
        using var src = RasterSource.Open(e.Path, options);
        info = src.Info;
        var area = e.MapWidth * e.MapHeight;
        var valid = new byte[area];
        src.Read(src.Extent, src.AllBands, new float[e.Bands * area], valid);
        return valid;
    }

    [Fact]
    public void Emit_MaskFileBeside_FlagsOrthorectifiedOntoTheMapGrid_CloudCirrusSpacecraftDilatedByDefault()
    {
        var e = ProductFixtures.WriteEmit(_t.Path("EMIT_L2A_RFL_001_20230101T000000_2300100_001.nc"));
        var m = ProductFixtures.WriteEmitMask(e);
        // Laid out as the producer writes it: GDAL's own view.
        var md = System.Text.Json.JsonDocument.Parse(TestRasters.Tool("gdalmdiminfo", m.Path)).RootElement;
        Assert.Equal("/downtrack,/crosstrack,/bands", string.Join(",", md.GetProperty("arrays").GetProperty("mask").GetProperty("dimensions").EnumerateArray().Select(d => d.GetString())));
        Assert.Equal("String", md.GetProperty("groups").GetProperty("sensor_band_parameters").GetProperty("arrays").GetProperty("mask_bands").GetProperty("datatype").GetString());

        // The map cell the GLT puts each sensor pixel on.
        var cellOf = new Dictionary<(int, int), int>();
        for (var r = 0; r < e.MapHeight; r++)
            for (var c = 0; c < e.MapWidth; c++)
                if (e.SourceOf(r, c) is { } s) cellOf[s] = r * e.MapWidth + c;
        int[] Cells(params string[] flags) => flags.SelectMany(f => m.Flagged[f]).Select(p => cellOf[p]).Distinct().Order().ToArray();
        int[] Invalid(byte[] valid, byte[] without) => Enumerable.Range(0, valid.Length).Where(i => valid[i] == 0 && without[i] == 1).ToArray();

        var unmasked = EmitValid(e, new RasterOpenOptions { Masks = ["none"] }, out var plain);
        Assert.Empty(plain.Product!.AppliedMasks);
        Assert.Equal(["CLOUD", "CIRRUS", "WATER", "SPACECRAFT", "DILATED_CLOUD", "AGGREGATE"], plain.Product.AvailableMasks.Select(x => x.Name));
        Assert.Equal(e.Down * e.Cross - 1, unmasked.Sum(v => v));

        var byDefault = EmitValid(e, null, out var info);
        Assert.Equal([("CLOUD", 1L), ("CIRRUS", 1L), ("SPACECRAFT", 1L), ("DILATED_CLOUD", 2L)], info.Product!.AppliedMasks);
        Assert.Equal(Cells("CLOUD", "CIRRUS", "SPACECRAFT", "DILATED_CLOUD"), Invalid(byDefault, unmasked));
        Assert.Equal(5, info.Product.MaskedPixels);

        // Water is a material: only when asked for, and the aggregate flag includes it.
        Assert.Equal(Cells("WATER"), Invalid(EmitValid(e, new RasterOpenOptions { Masks = ["water"] }, out _), unmasked));
        Assert.Equal(Cells("AGGREGATE"), Invalid(EmitValid(e, new RasterOpenOptions { Masks = ["AGGREGATE"] }, out _), unmasked));
        using (var src = RasterSource.Open(e.Path)) Assert.Contains(System.IO.Path.GetFullPath(m.Path), src.Files);
        var x = Assert.Throws<ArgumentException>(() => RasterSource.Open(e.Path, new RasterOpenOptions { Masks = ["AOD550"] }));
        Assert.Contains("has no mask 'AOD550'; it has: CLOUD,CIRRUS,WATER,SPACECRAFT,DILATED_CLOUD,AGGREGATE", x.Message);
    }

    [Fact]
    public void Emit_MaskOfAnotherSwath_IsAnErrorNamingTheMaskFile()
    {
        var e = ProductFixtures.WriteEmit(_t.Path("EMIT_L2A_RFL_001_20230101T000000_2300100_002.nc"));
        var m = ProductFixtures.WriteEmitMask(e, downtrack: e.Down + 2);
        var x = Assert.Throws<RasterDataException>(() => RasterSource.Open(e.Path));
        Assert.Equal(m.Path, x.Path);
        Assert.Contains($"mask is {e.Down + 2} x {e.Cross} x 8 but the reflectance's swath is {e.Down} x {e.Cross}", x.Problem);
    }

    [Fact]
    public void Desis_QualityLayers_ShadowSnowHazeCloudAreNodata_WaterIsNot()
    {
        var d = ProductFixtures.WriteDesis(_t.Path("desis"), quality: true);
        using var src = RasterSource.Open(d.Folder);
        var p = src.Info.Product!;
        Assert.Equal(["SHADOW", "SNOW", "HAZE_LAND", "HAZE_WATER", "CLOUD_LAND", "CLOUD_WATER"], p.AppliedMasks.Select(a => a.Name));
        Assert.Equal([1L, 1, 1, 1, 1, 2], p.AppliedMasks.Select(a => a.Pixels));
        int area = d.Width * d.Height;
        var valid = new byte[area];
        Assert.Equal(area - 1 - 7, src.Read(src.Extent, src.AllBands, new float[8 * area], valid));
        foreach (var (_, (r, c)) in ProductFixtures.DesisQuality) Assert.Equal(0, valid[r * d.Width + c]);
        var (wr, wc) = ProductFixtures.DesisWaterPixel;
        Assert.Equal(1, valid[wr * d.Width + wc]);
        using var some = RasterSource.Open(d.Folder, new RasterOpenOptions { Masks = ["cloud_water"] });
        Assert.Equal(area - 1 - 2, some.Read(some.Extent, some.AllBands, new float[8 * area], new byte[area]));
        Assert.Contains(Directory.GetFiles(d.Folder, "*-QL_QUALITY-2.tif").Single(), some.Files);
    }

    [Fact]
    public void Aviris_SensorGeometryCube_OrthorectifiedThroughItsGlt_InfillCellsTakeTheirPixel()
    {
        var a = ProductFixtures.WriteAviris(_t.Path("aviris"));
        string temp;
        using (var src = RasterSource.Open(a.Cube))
        {
            var i = src.Info;
            Assert.Equal((a.MapWidth, a.MapHeight, a.Bands), (i.Width, i.Height, i.BandCount));
            Assert.Equal(a.GeoTransform, i.GeoTransform);
            Assert.Equal(32611, i.Epsg);
            Assert.Equal(a.Wavelengths.Select(v => Math.Round(v, 6)), i.Wavelengths!.Select(v => Math.Round(v, 6))); // micrometres in the header
            Assert.Equal(a.BadBands, i.BadBands);
            Assert.Equal("AVIRIS-NG", i.Product!.Sensor);
            Assert.Contains("orthorectified through ang20230101t101010_rdn_v2z1_ort_glt", i.Product.Level);
            Assert.True(i.Product.Reflectance);
            Assert.Contains(System.IO.Path.GetFullPath(a.Glt), src.Files);
            temp = i.Product.ImageFile;
            int area = a.MapWidth * a.MapHeight, n = a.Bands;
            var dest = new float[n * area];
            var valid = new byte[area];
            src.Read(src.Extent, src.AllBands, dest, valid, BufferLayout.PixelInterleaved);
            var landed = new HashSet<(int, int)>();
            for (var r = 0; r < a.MapHeight; r++)
                for (var c = 0; c < a.MapWidth; c++)
                {
                    var px = r * a.MapWidth + c;
                    if (a.SourceOf(r, c) is not { } s || s == a.FillPixel) { Assert.Equal(0, valid[px]); continue; }
                    Assert.Equal(1, valid[px]);
                    landed.Add(s);
                    for (var b = 0; b < n; b++) Assert.Equal(a.Values[(s.Line * a.Samples + s.Sample) * n + b], dest[px * n + b]);
                }
            Assert.Equal(a.Lines * a.Samples - 1, landed.Count); // every cube pixel but the nodata one
        }
        Assert.False(File.Exists(temp));
    }

    [Fact]
    public void Aviris_CubeOnTheGltsGrid_IsReadAsItIs()
    {
        var a = ProductFixtures.WriteAviris(_t.Path("aviris"), orthocorrected: true);
        using var src = RasterSource.Open(a.Cube + ".hdr");
        Assert.Equal(a.Cube, src.Info.Product!.ImageFile);
        Assert.Contains("orthocorrected", src.Info.Product.Level);
        Assert.Equal((a.MapWidth, a.MapHeight), (src.Info.Width, src.Info.Height));
        Assert.Equal(a.GeoTransform, src.Info.GeoTransform);
    }

    [Fact]
    public void Aviris_GltOutsideTheCube_IsAnErrorNamingTheGlt()
    {
        var a = ProductFixtures.WriteAviris(_t.Path("aviris"), gltOutside: true);
        var x = Assert.Throws<RasterDataException>(() => RasterSource.Open(a.Cube));
        Assert.Equal(a.Glt, x.Path);
        Assert.Contains("band 1 (sample) at map cell (col 6, row 5) is 21, outside the image's 20 samples", x.Problem);
    }
}
