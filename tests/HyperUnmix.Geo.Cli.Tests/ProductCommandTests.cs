using System.Text.Json;
using HyperUnmix.Geo.Raster.Tests;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>Sensor products through the command: named by folder or metadata file, described by info, unmixed with no flags; broken ones refused in one line with nothing written.</summary>
public sealed class ProductCommandTests : IDisposable
{
    private readonly CliRunner _cli = new();
    public void Dispose() => _cli.Dispose();

    [Fact]
    public void Info_OnEnmapProduct_SaysSensorLevelScaleMasksAndScreening()
    {
        var p = ProductFixtures.WriteEnmap(_cli.Path("product"));
        var (code, stdout, err) = _cli.Run("info", p.Folder);
        Assert.True(code == 0, err);
        Assert.Contains("product     EnMAP L2A", stdout);
        Assert.Contains("PIXELMASK 1 px, CLOUD 12 px, HAZE 2 px, SNOW 0 px; 14 pixels nodata", stdout);
        Assert.Contains("per band: value = stored x 0.0001..0.0003 + 0..0.005", stdout);
        Assert.Contains("wavelengths 418.24", stdout);
        Assert.Contains("130 (no valid value", stdout); // the fill band the screening leaves out, and the absorption window
        Assert.Contains("left out: 131-135,164-166 (atmospheric absorption", stdout);

        (code, stdout, err) = _cli.Run("info", p.Xml, "--json", "--masks", "CLOUD");
        Assert.True(code == 0, err);
        var j = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("EnMAP", j.GetProperty("sensor").GetString());
        Assert.Equal("L2A", j.GetProperty("level").GetString());
        Assert.Equal(12, j.GetProperty("masked_pixels").GetInt64());
        Assert.Equal(0.0003, j.GetProperty("scale")[2].GetDouble(), 12);

        (code, _, err) = _cli.Run("info", p.Folder, "--masks", "CLOUDS");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("no mask 'CLOUDS'", err);
    }

    [Fact]
    public void Unmix_OnEnmapProductFolder_WorksWithNoFlags_MaskedPixelsNodata()
    {
        var p = ProductFixtures.WriteEnmap(_cli.Path("product"));
        var (code, stdout, err) = _cli.Run("unmix", p.Folder, "-o", _cli.Path("a.tif"));
        Assert.True(code == 0, err + stdout);
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        Assert.Equal(p.Width * p.Height - 14, report.GetProperty("pixels").GetProperty("valid").GetInt64());
        var product = report.GetProperty("product");
        Assert.Equal("EnMAP", product.GetProperty("sensor").GetString());
        Assert.Equal(14, product.GetProperty("masked_pixels").GetInt64());
        var count = report.GetProperty("endmembers").GetProperty("count").GetInt32();
        Assert.InRange(count, 3, 12);
        var csv = File.ReadAllLines(_cli.Path("a.endmembers.csv"));
        var header = csv[0].Split(',');
        foreach (var c in Enumerable.Range(0, header.Length).Where(i => header[i].StartsWith("EM", StringComparison.Ordinal)))
        {
            var v = csv.Skip(1).Select(l => double.Parse(l.Split(',')[c], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.True(v.Min() >= -0.05 && v.Max() <= 1.2 && v.Max() > 0.01, $"{header[c]}: {v.Min()} .. {v.Max()} (reflectance expected)");
        }
    }

    [Fact]
    public unsafe void Unmix_OnReflectanceProduct_NonPhysicalPixelsAreNodata()
    {
        // Two pixels out of reflectance range in every band (3.0; -0.5), one in only 10 bands (kept), on an EnMAP L2A product.
        var p = ProductFixtures.WriteEnmap(_cli.Path("product"), masks: false);
        using (var ds = HyperUnmix.Geo.Gdal.GdalDataset.Open(p.Image, HyperUnmix.Geo.Gdal.GdalAccess.Update))
        {
            for (var b = 0; b < p.Bands; b++)
            {
                var (g, o) = ProductFixtures.Scaling(b);
                if (b is >= 129 and <= 134) continue; // fill bands stay fill
                foreach (var (c, r, refl) in new[] { (7, 9, 3.0), (25, 30, -0.5) }.Concat(b < 10 ? [(1, 1, 5.0)] : []))
                {
                    var dn = (short)Math.Round((refl - o) / g);
                    ds.RasterIO(true, c, r, 1, 1, &dn, HyperUnmix.Geo.Gdal.GdalDataType.Int16, [b + 1], 2, 2, 2);
                }
            }
            ds.Close();
        }
        var (code, stdout, err) = _cli.Run("unmix", p.Folder, "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "4");
        Assert.True(code == 0, err + stdout);
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        Assert.Equal(p.Width * p.Height - 2, report.GetProperty("pixels").GetProperty("valid").GetInt64());
        var screening = report.GetProperty("screening");
        Assert.True(screening.GetProperty("reflectance_known").GetBoolean());
        Assert.Equal(2, screening.GetProperty("non_physical_pixels_in_sample").GetInt32());
        using var a = HyperUnmix.Geo.Raster.RasterSource.Open(_cli.Path("a.tif"));
        var valid = new byte[p.Width * p.Height];
        a.Read(a.Extent, [0], new float[valid.Length], valid);
        Assert.Equal(0, valid[9 * p.Width + 7]);
        Assert.Equal(0, valid[30 * p.Width + 25]);
        Assert.Equal(1, valid[1 * p.Width + 1]);
    }

    [Fact]
    public void Unmix_OnEmitNetCdf_WritesTheMapGrid()
    {
        var e = ProductFixtures.WriteEmit(_cli.Path("EMIT_L2A_RFL_001_20230101T000000_2300100_001.nc"));
        var (code, stdout, err) = _cli.Run("info", e.Path);
        Assert.True(code == 0, err);
        Assert.Contains("product     EMIT L2A RFL", stdout);
        Assert.Contains("bad bands   3,6", stdout);
        (code, stdout, err) = _cli.Run("unmix", e.Path, "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "2"); // the fixture's spectra span 2 dimensions
        Assert.True(code == 0, err + stdout);
        var info = CliRunner.GdalInfo(_cli.Path("a.tif"));
        Assert.Equal(e.MapWidth, info.GetProperty("size")[0].GetInt32());
        Assert.Equal(e.MapHeight, info.GetProperty("size")[1].GetInt32());
        Assert.Equal(e.GeoTransform[0], info.GetProperty("geoTransform")[0].GetDouble());
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        Assert.Equal(e.Down * e.Cross - 1, report.GetProperty("pixels").GetProperty("valid").GetInt64());
    }

    [Fact]
    public void Unmix_OnPrismaL2D_Works()
    {
        var e = ProductFixtures.WritePrisma(_cli.Path("PRS_L2D_STD_20230101103000_20230101103004_0001.he5"));
        var (code, stdout, err) = _cli.Run("info", e.Path);
        Assert.True(code == 0, err);
        Assert.Contains("product     PRISMA L2D", stdout);
        Assert.Contains("wavelengths 498.9 - 1605.2", stdout);
        (code, stdout, err) = _cli.Run("unmix", e.Path, "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "2"); // the fixture's spectra span 2 dimensions
        Assert.True(code == 0, err + stdout);
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        Assert.Equal(e.Rows * e.Cols - 1, report.GetProperty("pixels").GetProperty("valid").GetInt64());
    }

    [Fact]
    public void EnviBadBandList_IsLeftOutByTheScreening_UnlessBandsAreChosen()
    {
        // AVIRIS-NG style: an ENVI reflectance cube whose header flags bands 3 and 5 bad (bbl = 0).
        var img = _cli.Path("aviris.img");
        File.Copy(CliRunner.Sample("scene.img"), img);
        var hdr = File.ReadAllText(CliRunner.Sample("scene.hdr"));
        var n = int.Parse(System.Text.RegularExpressions.Regex.Match(hdr, @"bands\s*=\s*(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(_cli.Path("aviris.hdr"), hdr + "\nbbl = {" + string.Join(",", Enumerable.Range(1, n).Select(b => b is 3 or 5 ? 0 : 1)) + "}\n");
        var (code, stdout, err) = _cli.Run("info", img);
        Assert.True(code == 0, err);
        Assert.Contains("3,5 (flagged bad in the header (bbl))", stdout);
        (code, stdout, err) = _cli.Run("unmix", img, "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "3");
        Assert.True(code == 0, err + stdout);
        var used = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement.GetProperty("screening").GetProperty("left_out")
            .EnumerateArray().Single(d => d.GetProperty("reason").GetString()!.Contains("bbl"));
        Assert.Equal("3,5", used.GetProperty("bands").GetString());
    }

    [Fact]
    public void BadProducts_OneLineNamingFileAndField_NonZeroExit_NothingWritten()
    {
        var missing = ProductFixtures.WriteEnmap(_cli.Path("missing"), masks: false);
        File.Delete(missing.Xml);
        var counted = ProductFixtures.WriteEnmap(_cli.Path("count"), xmlBands: 220, masks: false);
        var glt = ProductFixtures.WriteEmit(Path.Combine(counted.Folder, "EMIT_L2A_RFL_glt.nc"), gltOutside: true).Path;
        var cut = ProductFixtures.WriteEmit(Path.Combine(counted.Folder, "EMIT_L2A_RFL_cut.nc")).Path;
        File.WriteAllBytes(cut, File.ReadAllBytes(cut)[..3000]);
        var he5 = ProductFixtures.WritePrisma(Path.Combine(counted.Folder, "PRS_L2D_STD_cut.he5")).Path;
        File.WriteAllBytes(he5, File.ReadAllBytes(he5)[..4000]);
        foreach (var (input, file, field) in new[]
                 {
                     (missing.Image, missing.Xml, "missing"), (counted.Folder, counted.Xml, "describes 220 bands"),
                     (glt, glt, "location/glt_x"), (cut, cut, "truncated"), (he5, he5, "truncated"),
                 })
        {
            var output = _cli.Path("out.tif");
            var (code, _, err) = _cli.Run("unmix", input, "-o", output);
            Assert.Equal(ExitCodes.BadInput, code);
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.Contains(file, lines[0]);
            Assert.Contains(field, lines[0]);
            Assert.Empty(Directory.GetFiles(_cli.Dir));
        }
    }
}
