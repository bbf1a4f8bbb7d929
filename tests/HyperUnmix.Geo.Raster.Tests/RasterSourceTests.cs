using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Raster.Tests;

public sealed class RasterSourceTests : IDisposable
{
    private const int W = 37, H = 23, B = 7;
    private readonly TestRasters _t = new();

    public void Dispose() => _t.Dispose();

    public static TheoryData<string, string, string[]> Layouts => new()
    {
        { "bsq.img", "ENVI", ["INTERLEAVE=BSQ"] },
        { "bil.img", "ENVI", ["INTERLEAVE=BIL"] },
        { "bip.img", "ENVI", ["INTERLEAVE=BIP"] },
        { "pixel-tiled.tif", "GTiff", ["INTERLEAVE=PIXEL", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"] },
        { "band-tiled.tif", "GTiff", ["INTERLEAVE=BAND", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"] },
        { "pixel-strips.tif", "GTiff", ["INTERLEAVE=PIXEL", "BLOCKYSIZE=5"] },
        { "band-strips.tif", "GTiff", ["INTERLEAVE=BAND"] },
        { "deflate.tif", "GTiff", ["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES"] },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Read_EveryLayoutAndBothPaths_GivesTheSameValuesInBothBufferLayouts(string name, string driver, string[] options)
    {
        var cube = TestRasters.Cube(W, H, B);
        var path = _t.Write(name, driver, W, H, cube, options);
        using var raw = RasterSource.Open(path);
        using var gdal = RasterSource.Open(path, new RasterOpenOptions { AllowRawPath = false });
        Assert.StartsWith("GDAL RasterIO", gdal.ReadPath);
        if (!name.StartsWith("deflate", StringComparison.Ordinal)) Assert.DoesNotContain("GDAL", raw.ReadPath);
        // A subset out of order (staged and picked) and all bands in order (read straight into the buffer); windows
        // across blocks, inside one, a single pixel, one block exactly (16 x 16 tiles) and full-width rows (strips).
        foreach (var bands in new[] { new[] { 5, 0, 3 }, Enumerable.Range(0, B).ToArray() })
        foreach (var win in new[] { new Window(0, 0, W, H), new Window(3, 4, 20, 17), new Window(36, 22, 1, 1), new Window(15, 0, 17, 5),
                     new Window(16, 0, 16, 16), new Window(0, 5, W, 10) })
        {
            var n = (int)win.Area;
            foreach (var src in new[] { raw, gdal })
            {
                var bsq = new float[bands.Length * n];
                var bip = new float[bands.Length * n];
                var valid = new byte[n];
                Assert.Equal(n, src.Read(win, bands, bsq, valid));
                src.Read(win, bands, bip, valid, BufferLayout.PixelInterleaved);
                for (var q = 0; q < bands.Length; q++)
                    for (var r = 0; r < win.Height; r++)
                        for (var c = 0; c < win.Width; c++)
                        {
                            var expected = cube[(bands[q] * H + win.RowOff + r) * W + win.ColOff + c];
                            var p = r * win.Width + c;
                            Assert.Equal(expected, bsq[q * n + p]);
                            Assert.Equal(expected, bip[p * bands.Length + q]);
                        }
            }
        }
    }

    [Fact]
    public void Read_ScaleOffsetAndNoData_AreAppliedAndMasked()
    {
        var cube = TestRasters.Cube(W, H, 3);
        cube[(1 * H + 2) * W + 4] = -9999; // band 2, row 2, col 4
        var path = _t.Write("scaled.tif", "GTiff", W, H, cube, [], configure: ds =>
        {
            for (var b = 1; b <= 3; b++)
            {
                ds.GetBand(b).SetNoData(-9999);
                ds.GetBand(b).SetScaleOffset(0.5, 2);
            }
        });
        using var src = RasterSource.Open(path);
        Assert.Equal(0.5, src.Info.Scale[0]);
        var n = W * H;
        var buf = new float[3 * n];
        var valid = new byte[n];
        Assert.Equal(n - 1, src.Read(src.Extent, src.AllBands, buf, valid));
        Assert.Equal(0, valid[2 * W + 4]);
        Assert.Equal(0f, buf[0 * n + 2 * W + 4]); // every band of a nodata pixel is zeroed
        Assert.Equal(cube[5] * 0.5f + 2, buf[5]);
        Assert.Equal(cube[(2 * H + 7) * W + 3] * 0.5f + 2, buf[2 * n + 7 * W + 3]);
    }

    /// <summary>
    /// ReadSamples judges every sample on its own (band screening counts valid samples per band), also on the fast path
    /// for single pixels with one nodata rule for all bands: a nodata sample and a NaN (NaN as nodata) are flagged
    /// in their band only, and a clean pixel is valid everywhere, in either layout.
    /// </summary>
    [Theory]
    [InlineData(BufferLayout.BandSequential)]
    [InlineData(BufferLayout.PixelInterleaved)]
    public void ReadSamples_SinglePixels_FlagEachNoDataSampleInItsBandOnly(BufferLayout layout)
    {
        var cube = TestRasters.Cube(W, H, 4);
        cube[(1 * H + 2) * W + 4] = -9999;     // band 2, row 2, col 4
        cube[(3 * H + 5) * W + 1] = float.NaN; // band 4, row 5, col 1
        var uniform = _t.Write("uniform.tif", "GTiff", W, H, cube, [], configure: ds =>
        {
            for (var b = 1; b <= 4; b++) ds.GetBand(b).SetNoData(-9999);
        });
        var values = new float[4];
        var valid = new byte[4];
        using (var src = RasterSource.Open(uniform, new RasterOpenOptions { Nan = NanPolicy.Mask }))
        {
            src.ReadSamples(new Window(4, 2, 1, 1), src.AllBands, values, valid, layout);
            Assert.Equal(new byte[] { 1, 0, 1, 1 }, valid);
            src.ReadSamples(new Window(1, 5, 1, 1), src.AllBands, values, valid, layout);
            Assert.Equal(new byte[] { 1, 1, 1, 0 }, valid);
            src.ReadSamples(new Window(3, 3, 1, 1), src.AllBands, values, valid, layout);
            Assert.Equal(new byte[] { 1, 1, 1, 1 }, valid);
            Assert.Equal(cube[(2 * H + 3) * W + 3], values[2]);
        }
    }

    [Fact]
    public void Read_NaNWithoutNaNNoData_IsAnErrorNamingBandAndPixel_OrMaskedOnRequest()
    {
        var cube = TestRasters.Cube(W, H, 2);
        cube[(1 * H + 3) * W + 6] = float.NaN;
        var path = _t.Write("nan.img", "ENVI", W, H, cube, []);
        using (var strict = RasterSource.Open(path))
        {
            var e = Assert.Throws<RasterDataException>(() => strict.Read(strict.Extent, strict.AllBands, new float[2 * W * H], new byte[W * H]));
            Assert.Contains("band 2", e.Message);
            Assert.Contains("col 6, row 3", e.Message);
            Assert.Contains(path, e.Message);
        }
        using var lenient = RasterSource.Open(path, new RasterOpenOptions { Nan = NanPolicy.Mask });
        var valid = new byte[W * H];
        Assert.Equal(W * H - 1, lenient.Read(lenient.Extent, lenient.AllBands, new float[2 * W * H], valid));
        Assert.Equal(0, valid[3 * W + 6]);
    }

    [Theory]
    [InlineData("inf.img", "ENVI", true, BufferLayout.BandSequential)]
    [InlineData("inf.img", "ENVI", true, BufferLayout.PixelInterleaved)]
    [InlineData("inf.img", "ENVI", false, BufferLayout.BandSequential)]
    [InlineData("inf.tif", "GTiff", true, BufferLayout.PixelInterleaved)]
    [InlineData("inf.tif", "GTiff", false, BufferLayout.BandSequential)]
    public void Read_InfiniteSamples_AreAnErrorNamingFileBandAndPixel_OrMaskedOnRequest(string name, string driver, bool raw, BufferLayout layout)
    {
        var cube = TestRasters.Cube(W, H, 2);
        cube[(1 * H + 3) * W + 6] = float.PositiveInfinity;
        cube[(0 * H + 5) * W + 2] = float.NegativeInfinity;
        var path = _t.Write(name, driver, W, H, cube, []);
        using (var strict = RasterSource.Open(path, new RasterOpenOptions { AllowRawPath = raw }))
        {
            Assert.Equal(raw, !strict.ReadPath.StartsWith("GDAL"));
            var e = Assert.Throws<RasterDataException>(() => strict.Read(strict.Extent, strict.AllBands, new float[2 * W * H], new byte[W * H], layout));
            Assert.Contains(path, e.Message);
            Assert.Contains("infinite", e.Message);
            // A single-pixel window (the sampling path of estimate and endmember extraction) is checked too.
            Assert.Throws<RasterDataException>(() => strict.Read(new Window(6, 3, 1, 1), strict.AllBands, new float[2], new byte[1], layout));
        }
        using var lenient = RasterSource.Open(path, new RasterOpenOptions { AllowRawPath = raw, Nan = NanPolicy.Mask });
        var valid = new byte[W * H];
        var dest = new float[2 * W * H];
        Assert.Equal(W * H - 2, lenient.Read(lenient.Extent, lenient.AllBands, dest, valid, layout));
        Assert.Equal(0, valid[3 * W + 6]);
        Assert.Equal(0, valid[5 * W + 2]);
        Assert.All(dest, v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>
    /// GDAL 3.6 has no Int8 type: a signed 8-bit GeoTIFF is a Byte band with PIXELTYPE=SIGNEDBYTE, and RasterIO
    /// gives its two's-complement bytes as 0..255. Every value -128..127 must come back signed, nodata included.
    /// </summary>
    [Theory]
    [InlineData(true, BufferLayout.BandSequential)]
    [InlineData(false, BufferLayout.PixelInterleaved)]
    public void Read_SignedByteGeoTiff_GivesNegativeValues(bool raw, BufferLayout layout)
    {
        const int w = 16, h = 16;
        var signed = Enumerable.Range(0, 2 * w * h).Select(i => (float)((i % 256) - 128)).ToArray();
        var stored = signed.Select(v => v < 0 ? v + 256 : v).ToArray();
        var path = _t.Write("int8.tif", "GTiff", w, h, stored, ["PIXELTYPE=SIGNEDBYTE"], GdalDataType.Byte, ds =>
        {
            ds.GetBand(1).SetNoData(-5);
            ds.GetBand(2).SetNoData(-5);
        });
        var info = TestRasters.GdalInfo(path);
        Assert.Equal("SIGNEDBYTE", info.GetProperty("bands")[0].GetProperty("metadata").GetProperty("IMAGE_STRUCTURE").GetProperty("PIXELTYPE").GetString());
        using var source = RasterSource.Open(path, new RasterOpenOptions { AllowRawPath = raw });
        var dest = new float[2 * w * h];
        var valid = new byte[w * h];
        var count = source.Read(source.Extent, source.AllBands, dest, valid, layout);
        var n = w * h;
        var masked = 0;
        for (var p = 0; p < n; p++)
        {
            var isNoData = signed[p] == -5 || signed[n + p] == -5;
            Assert.Equal(isNoData ? 0 : 1, valid[p]);
            if (isNoData) { masked++; continue; }
            for (var b = 0; b < 2; b++)
                Assert.Equal(signed[b * n + p], layout == BufferLayout.BandSequential ? dest[b * n + p] : dest[p * 2 + b]);
        }
        Assert.Equal(n - masked, count);
        Assert.Contains(dest, v => v == -128);
        Assert.Contains(dest, v => v == 127);
    }

    [Fact]
    public void Info_EnviHeader_GivesWavelengthsFwhmBadBandsAndCrs()
    {
        var path = _t.Write("meta.img", "ENVI", 4, 3, TestRasters.Cube(4, 3, 3), []);
        var hdr = Path.ChangeExtension(path, ".hdr");
        File.AppendAllText(hdr, "wavelength units = Nanometers\nwavelength = {450.5, 550, 650.25}\nfwhm = {10, 10, 12}\nbbl = {1, 0, 1}\n");
        using var src = RasterSource.Open(path);
        Assert.Equal([450.5, 550, 650.25], src.Info.Wavelengths!);
        Assert.Equal([10.0, 10, 12], src.Info.Fwhm!);
        Assert.Equal([1], src.Info.BadBands);
        Assert.Equal(32633, src.Info.Epsg);
        Assert.Equal(30, src.Info.PixelWidth);
    }

    /// <summary>
    /// Users pick an ENVI scene by its .hdr (QGIS and file dialogs show it); GDAL opens only the data file. The header
    /// stands for its data file, whichever extension it has (or none); a header alone is refused, naming it.
    /// </summary>
    [Fact]
    public void Open_EnviHeader_OpensItsDataFile_AndAHeaderAloneIsRefused()
    {
        var cube = TestRasters.Cube(W, H, 3);
        foreach (var name in new[] { "scene.img", "scene.dat", "scene" })
        {
            var data = _t.Write(name, "ENVI", W, H, cube, []);
            var header = _t.Path("scene.hdr");
            Assert.True(File.Exists(header));
            using (var viaHeader = RasterSource.Open(header))
            using (var direct = RasterSource.Open(data))
            {
                Assert.Equal(data, viaHeader.Path);
                Assert.Equal(direct.Info.BandCount, viaHeader.Info.BandCount);
                var a = new float[3 * W * H];
                var b = new float[3 * W * H];
                viaHeader.Read(new Window(0, 0, W, H), [0, 1, 2], a, new byte[W * H]);
                direct.Read(new Window(0, 0, W, H), [0, 1, 2], b, new byte[W * H]);
                Assert.Equal(b, a);
            }
            File.Delete(data);
        }
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(_t.Path("scene.hdr")));
        Assert.Contains("scene.hdr", e.Message);
        Assert.Contains("data file", e.Message);
    }

    [Fact]
    public void Open_TruncatedEnviImage_IsRefusedWithSizes()
    {
        var path = _t.Write("trunc.img", "ENVI", W, H, TestRasters.Cube(W, H, 3), []);
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(f.Length - 100);
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("trunc.img", e.Message);
    }

    [Fact]
    public void Open_HeaderBandCountDisagreesWithFileSize_IsRefused()
    {
        var path = _t.Write("bands.img", "ENVI", W, H, TestRasters.Cube(W, H, 3), []);
        var hdr = Path.ChangeExtension(path, ".hdr");
        File.WriteAllText(hdr, File.ReadAllText(hdr).Replace("bands   = 3", "bands   = 2", StringComparison.Ordinal));
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(path));
        Assert.Contains("disagrees", e.Message);
    }

    [Fact]
    public void Open_ComplexDataType_IsRefusedAsUnsupported()
    {
        var path = _t.Write("complex.tif", "GTiff", 4, 4, new float[16], [], GdalDataType.CFloat32);
        var e = Assert.Throws<RasterDataException>(() => RasterSource.Open(path));
        Assert.Contains("unsupported data type CFloat32", e.Message);
    }

    [Fact]
    public void Open_TextFileNamedTif_MissingFile_Directory_AreOpenErrors()
    {
        var text = _t.Path("fake.tif");
        File.WriteAllText(text, "hello");
        Assert.Throws<GdalOpenException>(() => RasterSource.Open(text));
        Assert.Throws<GdalOpenException>(() => RasterSource.Open(_t.Path("missing.img")));
        Assert.Throws<GdalOpenException>(() => RasterSource.Open(_t.Dir));
    }

    [Fact]
    public void Read_WindowOutsideTheRaster_Throws()
    {
        using var src = RasterSource.Open(_t.Write("s.tif", "GTiff", 4, 4, new float[16], []));
        Assert.Throws<ArgumentOutOfRangeException>(() => src.Read(new Window(2, 2, 3, 3), [0], new float[9], new byte[9]));
    }

    [Fact]
    public void Read_ManyThreadsAtOnce_GivesTheSameResultAsOneThread()
    {
        var cube = TestRasters.Cube(64, 64, 5);
        foreach (var (name, driver, opts) in new[] { ("p.tif", "GTiff", new[] { "COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16" }), ("e.img", "ENVI", Array.Empty<string>()) })
        {
            using var src = RasterSource.Open(_t.Write(name, driver, 64, 64, cube, opts));
            var plan = new TilePlan(src.Extent, 16, 16);
            var results = new float[plan.Count][];
            Parallel.For(0, plan.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                var w = plan[i].Window;
                results[i] = new float[5 * w.Area];
                src.Read(w, src.AllBands, results[i], new byte[w.Area]);
            });
            for (var i = 0; i < plan.Count; i++)
            {
                var w = plan[i].Window;
                var one = new float[5 * w.Area];
                src.Read(w, src.AllBands, one, new byte[w.Area]);
                Assert.Equal(one, results[i]);
            }
        }
    }
}
