using System.Text.Json;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// The default run on real EnMAP L2A tiles as a sensor delivers them (../shared/datasets/enmap_potsdam: reflectance
/// x 10,000 with a 0.0001 band scale, bands 130-135 nodata everywhere, a pixel that is 0 in every band).
/// </summary>
public sealed class RealSceneTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static string Enmap(string tile) => CliRunner.Dataset("enmap_potsdam/" + tile);

    [Theory]
    [InlineData("enmap_potsdam_tile_96_128.tif", 1023)]
    [InlineData("enmap_potsdam_tile_64_0.tif", 1024)]
    public void DefaultRun_OnEnmapL2A_Works_WithPhysicalEndmembers(string tile, int validPixels)
    {
        var input = Enmap(tile);
        Assert.True(File.Exists(input), $"{input} is missing (../shared beside the clone)");
        var (code, stdout, err) = _cli.Run("unmix", input, "-o", _cli.Path("a.tif"));
        Assert.True(code == 0, err);
        Assert.Contains("screening: ", stdout);
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        // Every pixel but the all-zero one (tile 96_128) is unmixed.
        Assert.Equal(validPixels, report.GetProperty("pixels").GetProperty("valid").GetInt64());
        var screening = report.GetProperty("screening");
        var leftOut = screening.GetProperty("left_out").EnumerateArray().ToArray();
        // Band 130 (1331 nm) is nodata everywhere; 131-135 also lie in the 1340-1450 nm window, so they go as absorption.
        Assert.Contains(leftOut, d => d.GetProperty("bands").GetString() == "130" && d.GetProperty("reason").GetString()!.Contains("no valid value"));
        Assert.Contains(leftOut, d => d.GetProperty("bands").GetString()!.StartsWith("131-135", StringComparison.Ordinal));
        Assert.Equal(validPixels == 1023 ? 1 : 0, screening.GetProperty("zero_pixels_in_sample").GetInt32());
        var p = report.GetProperty("endmembers").GetProperty("count").GetInt32();
        Assert.InRange(p, 3, 12);
        // Endmembers in reflectance units (the 0.0001 scale applied), none all zero or negative.
        var csv = File.ReadAllLines(_cli.Path("a.endmembers.csv"));
        var header = csv[0].Split(',');
        var columns = Enumerable.Range(0, header.Length).Where(i => header[i].StartsWith("EM", StringComparison.Ordinal)).ToArray();
        Assert.Equal(p, columns.Length);
        foreach (var c in columns)
        {
            var v = csv.Skip(1).Select(l => double.Parse(l.Split(',')[c], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.True(v.Min() >= 0 && v.Max() <= 1.2 && v.Max() > 0.01, $"{header[c]}: {v.Min()} .. {v.Max()}");
        }
        // The all-zero pixel is nodata in the output, not a mixture.
        if (validPixels == 1023)
        {
            var info = CliRunner.GdalInfo(_cli.Path("a.tif"));
            Assert.Equal(-9999, info.GetProperty("bands")[0].GetProperty("noDataValue").GetDouble());
        }
    }

    [Fact]
    public void Estimate_OnSamson_IsWithinOneOfTheReference()
    {
        var samson = CliRunner.Dataset("samson/samson_cube.img");
        var (code, stdout, err) = _cli.Run("estimate", samson, "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.InRange(r.GetProperty("endmembers").GetInt32(), 2, 4); // 3 materials in the reference
        Assert.True(r.GetProperty("hysime").GetInt32() > 10);          // HySime's count on the same sample, for contrast
    }
}
