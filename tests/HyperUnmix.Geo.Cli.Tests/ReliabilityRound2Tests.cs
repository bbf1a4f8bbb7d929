using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// The second hostile-input probe's defects (issue 23): each test reproduces one case as the probe ran it and fails
/// with the behaviour it found (exit 0 with wrong numbers, an internal error, wrong advice).
/// </summary>
public sealed class ReliabilityRound2Tests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static void Tool(string tool, params string[] args) => Processes.Tool(tool, args);

    /// <summary>A noise-free 16-band scene and its endmembers (CSV with a wavelength column).</summary>
    private string NoiseFree(string name = "s.tif")
    {
        var scene = _cli.Path(name);
        var r = _cli.Run("synth", "-o", scene, "--width", "30", "--height", "20", "--bands", "16", "-p", "3", "--snr", "inf", "--seed", "3");
        Assert.True(r.Code == 0, r.Err);
        return scene;
    }

    /// <summary>Item 3: a uint16 scene whose bands declare scale 1e-4, run with --scale 0.0001 as the README advised for x10000 data.</summary>
    [Fact]
    public void FileScalePlusScaleOption_IsRefused_AndTheRunSaysWhichScaleItUsed()
    {
        var scene = NoiseFree();
        var dn = _cli.Path("dn.tif");
        Tool("gdal_translate", "-q", "-ot", "UInt16", "-scale", "0", "1", "0", "10000", "-a_scale", "0.0001", scene, dn);
        var em = Path.ChangeExtension(scene, null) + "_endmembers.csv";

        var twice = _cli.Run("unmix", dn, "-o", _cli.Path("twice.tif"), "--method", "fcls", "-e", em, "--scale", "0.0001");
        Assert.Equal(2, twice.Code);
        Assert.Contains("declares its own band scale (x 0.0001)", twice.Err);
        Assert.Contains("dn.tif", twice.Err);
        Assert.False(File.Exists(_cli.Path("twice.tif")));

        var once = _cli.Run("unmix", dn, "-o", _cli.Path("once.tif"), "--method", "fcls", "-e", em);
        Assert.True(once.Code == 0, once.Err);
        Assert.Contains("values: stored values x 0.0001 (the file's band scale)", once.Out);
        // Read once, the values are the reflectances the endmembers are in: abundances close to the truth.
        var truth = CliRunner.Band(Path.ChangeExtension(scene, null) + "_abundances.tif", 1);
        var got = CliRunner.Band(_cli.Path("once.tif"), 1);
        Assert.True(truth.Zip(got).Max(t => Math.Abs(t.First - t.Second)) < 0.02);

        var plain = _cli.Run("unmix", scene, "-o", _cli.Path("plain.tif"), "--method", "fcls", "-e", em, "--scale", "1");
        Assert.Contains("values: as stored (no scale)", plain.Out);
    }

    /// <summary>Item 6: a range up to int.MaxValue built a 2-billion-entry list (87 s, 8-12 GB, OutOfMemoryException).</summary>
    [Fact]
    public void HugeBandRange_IsRefusedAtOnce()
    {
        var watch = Stopwatch.StartNew();
        var r = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "--bands", "1-2147483647");
        Assert.Equal(2, r.Code);
        Assert.Contains("--bands: '1-2147483647' goes beyond band 65535", r.Err);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
    }

    /// <summary>Item 8: a reordered band selection with an endmember file without wavelengths must reorder the file's rows too.</summary>
    [Fact]
    public void ReorderedBands_ReorderTheEndmemberRows()
    {
        var scene = NoiseFree();
        var withWavelengths = Path.ChangeExtension(scene, null) + "_endmembers.csv";
        var lines = File.ReadAllLines(withWavelengths);
        var header = lines[0].Split(',');
        var wl = Array.IndexOf(header, "wavelength");
        Assert.True(wl >= 0, lines[0]);
        var bare = _cli.Path("bare.csv");
        File.WriteAllLines(bare, lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != wl))));

        var r = _cli.Run("unmix", scene, "-o", _cli.Path("perm.tif"), "--method", "fcls", "-e", bare, "--bands", "3,1,2,4-16");
        Assert.True(r.Code == 0, r.Err);
        var truth = CliRunner.Band(Path.ChangeExtension(scene, null) + "_abundances.tif", 1);
        var got = CliRunner.Band(_cli.Path("perm.tif"), 1);
        // Noise-free: with rows in the right order the abundances are exact (to float32); shuffled rows gave 0.012.
        Assert.True(truth.Zip(got).Max(t => Math.Abs(t.First - t.Second)) < 1e-3, $"largest error {truth.Zip(got).Max(t => Math.Abs(t.First - t.Second))}");
    }

    private string FittedModel()
    {
        var r = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("m.tif"), "-p", "4", "--fit-pixels", "500");
        Assert.True(r.Code == 0, r.Err);
        return _cli.Path("m.model.json");
    }

    /// <summary>Items 7 and 10: model files that are finite but absurd, or not objects, are bad input (exit 3), not exit 0 or 1.</summary>
    [Fact]
    public void DamagedModelFiles_AreBadInput_WithTheFieldNamed()
    {
        var model = FittedModel();
        var json = JsonNode.Parse(File.ReadAllText(model))!;
        var theta = Convert.FromBase64String(json["column_theta"]!.GetValue<string>());
        BitConverter.GetBytes(1e30f).CopyTo(theta, 0);
        var cases = new (string Name, string Text, string Expect)[]
        {
            ("huge.model.json", Modified(json, n => n["column_theta"] = Convert.ToBase64String(theta)), "column_theta has 1E+30 at index 0"),
            ("array.model.json", "[1, 2, 3]", "its JSON root is not an object"),
            ("format5.model.json", Modified(json, n => n["format"] = 5), "not a hyperunmix"),
            ("version.model.json", Modified(json, n => n["format_version"] = "1"), "format_version is missing or not an integer"),
        };
        foreach (var (name, text, expect) in cases)
        {
            var path = _cli.Path(name);
            File.WriteAllText(path, text);
            var r = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path(name + ".tif"), "--model", path);
            Assert.True(r.Code == 3, $"{name}: exit {r.Code}: {r.Err}");
            Assert.Contains(expect, r.Err);
            Assert.Contains(name, r.Err);
            Assert.False(File.Exists(_cli.Path(name + ".tif")));
        }
    }

    private static string Modified(JsonNode json, Action<JsonNode> change)
    {
        var copy = JsonNode.Parse(json.ToJsonString())!;
        change(copy);
        return copy.ToJsonString();
    }

    /// <summary>Item 12: advice that fits the case (bad data is exit 3 and says so; no option that does not exist).</summary>
    [Fact]
    public void Advice_FitsTheCase()
    {
        // Every pixel the same spectrum, -p 3: the user gave no endmembers, so "remove duplicates" (exit 2) was wrong.
        var flat = _cli.Path("flat.tif");
        Tool("gdal_create", "-q", "-of", "GTiff", "-ot", "Float32", "-outsize", "20", "20", "-bands", "8", "-burn", "0.3", flat);
        var r = _cli.Run("unmix", flat, "-o", _cli.Path("flat_out.tif"), "-p", "3", "--method", "fcls");
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        Assert.Contains("flat.tif", r.Err);

        // Only negative values: not "EM1 is all zero".
        var negative = _cli.Path("negative.tif");
        Tool("gdal_translate", "-q", "-scale", "0", "1", "-1", "-0.01", CliRunner.Sample("scene.tif"), negative);
        r = _cli.Run("unmix", negative, "-o", _cli.Path("neg_out.tif"), "-p", "3", "--method", "fcls");
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        Assert.Contains("no positive value", r.Err);

        // A float64 value beyond float32's range is legal data, not corruption.
        var big = _cli.Path("big.tif");
        Tool("gdal_create", "-q", "-of", "GTiff", "-ot", "Float64", "-outsize", "20", "20", "-bands", "8", "-burn", "1e300", big);
        r = _cli.Run("unmix", big, "-o", _cli.Path("big_out.tif"), "-p", "2", "--method", "fcls");
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        Assert.Contains("beyond float32's range", r.Err);
        Assert.DoesNotContain("byte order", r.Err);

        // A scene without a georeference and a polygon ROI: the option named exists.
        var bare = _cli.Path("bare.tif");
        Tool("gdal_create", "-q", "-of", "GTiff", "-ot", "Float32", "-outsize", "20", "20", "-bands", "8", "-burn", "0.3", bare);
        r = _cli.Run("unmix", bare, "-o", _cli.Path("roi_out.tif"), "-p", "2", "--roi", CliRunner.Sample("roi.geojson"));
        Assert.Equal(3, r.Code);
        Assert.Contains("--roi-assume-scene-crs", r.Err);
        Assert.DoesNotContain("--roi-in-pixels", r.Err);
    }

    /// <summary>Item 11: our words, naming the option, instead of .NET's ("(Parameter 'path')", "No endpoints specified", the JSON writer's).</summary>
    [Fact]
    public void OptionErrors_AreOurs_AndNameTheOption()
    {
        var scene = CliRunner.Sample("scene.tif");
        var cases = new (string[] Args, string Expect)[]
        {
            (["unmix", scene, "-o", ""], "-o: the output path is empty"),
            (["cluster", "status", "--job", "j", "--redis", "nohost:abc"], "--redis: 'nohost:abc' is not HOST:PORT"),
            (["unmix", scene, "-o", _cli.Path("a.tif"), "--alpha", "nan"], "--alpha must be a finite number"),
            (["unmix", scene, "-o", _cli.Path("a.tif"), "--output-nodata", "1e39"], "--output-nodata: '1e39' is not a float32 value"),
        };
        foreach (var (args, expect) in cases)
        {
            var r = _cli.Run(args);
            Assert.True(r.Code == 2, $"{string.Join(' ', args)}: exit {r.Code}: {r.Err}");
            Assert.Contains(expect, r.Err);
            Assert.DoesNotContain("Parameter '", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
        Assert.False(File.Exists(_cli.Path("a.tif")));
    }

    /// <summary>Item 13: the report lists the files the run wrote, and no model for a solver that fits none.</summary>
    [Fact]
    public void Report_ListsOnlyTheFilesWritten()
    {
        var r = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("f.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(r.Code == 0, r.Err);
        var report = JsonNode.Parse(File.ReadAllText(_cli.Path("f.report.json")))!;
        var listed = report["output"]!["side_outputs"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.DoesNotContain(listed, f => f.EndsWith(".model.json", StringComparison.Ordinal));
        Assert.All(listed, f => Assert.True(File.Exists(f), $"{f} is listed but does not exist"));
        Assert.Contains(listed, f => f.EndsWith("f.endmembers.csv", StringComparison.Ordinal));
    }

    /// <summary>Item 14: a spectrum named like the residual band made two bands of that name, and evaluate then crashed.</summary>
    [Fact]
    public void EndmemberNamedLikeTheResidualBand_IsRefused()
    {
        var csv = _cli.Path("em.csv");
        var lines = File.ReadAllLines(CliRunner.Sample("scene_endmembers.csv"));
        lines[0] = lines[0].Replace("water", "residual_rmse", StringComparison.Ordinal);
        File.WriteAllLines(csv, lines);
        var r = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("r.tif"), "--method", "fcls", "-e", csv);
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        Assert.Contains("em.csv: has a spectrum named 'residual_rmse'", r.Err);
        Assert.False(File.Exists(_cli.Path("r.tif")));
    }

    /// <summary>Items 10 and 16: ENVI headers GDAL reads ("header offset = 64.0") run; a layout key given twice with different values is refused.</summary>
    [Fact]
    public void EnviHeaders_OffsetWithDecimals_Runs_ConflictingDuplicateKeys_AreRefused()
    {
        var envi = _cli.Path("e.img");
        Tool("gdal_translate", "-q", "-of", "ENVI", CliRunner.Sample("scene.tif"), envi);
        var hdr = _cli.Path("e.hdr");
        var raw = File.ReadAllBytes(envi);
        var text = File.ReadAllText(hdr).Replace("header offset = 0", "header offset = 64.0", StringComparison.Ordinal);
        Assert.Contains("header offset = 64.0", text);

        var shifted = _cli.Path("shifted.img");
        File.WriteAllBytes(shifted, new byte[64].Concat(raw).ToArray());
        File.WriteAllText(_cli.Path("shifted.hdr"), text);
        var aux = File.ReadAllText(envi + ".aux.xml");
        File.Delete(envi + ".aux.xml"); // where gdal_translate kept the wavelengths: both files read alike without it
        var r = _cli.Run("unmix", shifted, "-o", _cli.Path("s.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(r.Code == 0, r.Err);
        var reference = _cli.Run("unmix", envi, "-o", _cli.Path("ref.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(reference.Code == 0, reference.Err);
        Assert.Equal(CliRunner.PixelHash(_cli.Path("ref.tif")), CliRunner.PixelHash(_cli.Path("s.tif")));
        // GDAL's ENVI metadata domain also reads a .aux.xml, and one copied from the unshifted file says offset 0: the
        // .hdr decides.
        File.WriteAllText(shifted + ".aux.xml", aux);
        Assert.Contains("header_offset", aux);
        r = _cli.Run("unmix", shifted, "-o", _cli.Path("s_aux.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(r.Code == 0, r.Err);

        File.WriteAllText(hdr, File.ReadAllText(hdr) + "interleave = bip\n");
        r = _cli.Run("unmix", envi, "-o", _cli.Path("d.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        Assert.Contains("e.hdr: 'interleave' is given twice with different values ('bsq', then 'bip')", r.Err);
        Assert.False(File.Exists(_cli.Path("d.tif")));
    }

    /// <summary>Item 9: a float64 nodata of 1e-300 was compared after rounding to float32 (0), so genuine zeros were masked.</summary>
    [Fact]
    public void NodataFloat32CannotHold_IsNotSilentlyMatchedToZero()
    {
        var f64 = _cli.Path("f64.tif");
        Tool("gdal_translate", "-q", "-ot", "Float64", "-a_nodata", "1e-300", CliRunner.Sample("scene.tif"), f64);
        var r = _cli.Run("unmix", f64, "-o", _cli.Path("o64.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        Assert.Contains("cannot be represented in float32", r.Err);
        Assert.Contains("E-300", r.Err);
        // In a float32 file no sample can equal it: nothing is masked, and the run is that of the file without it.
        var f32 = _cli.Path("f32.tif");
        Tool("gdal_translate", "-q", "-a_nodata", "1e-300", CliRunner.Sample("scene.tif"), f32);
        r = _cli.Run("unmix", f32, "-o", _cli.Path("o32.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(r.Code == 0, r.Err);
        var none = _cli.Path("none.tif");
        Tool("gdal_translate", "-q", "-a_nodata", "none", CliRunner.Sample("scene.tif"), none);
        var reference = _cli.Run("unmix", none, "-o", _cli.Path("onone.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(reference.Code == 0, reference.Err);
        Assert.Equal(CliRunner.PixelHash(_cli.Path("onone.tif")), CliRunner.PixelHash(_cli.Path("o32.tif")));
    }
}
