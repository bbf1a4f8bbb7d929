using System.Globalization;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// --fractions signal: each material's share of the pixel's signal, a_j w_j / Σ a_k w_k with w_j the endmember's
/// samples summed over the bands used; checked against the physical run's fractions and the endmembers it wrote.
/// </summary>
public sealed class FractionsTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static (float[] Values, byte[] Valid, int Bands, int Pixels) ReadAll(string path)
    {
        using var src = RasterSource.Open(path);
        var n = src.Info.Width * src.Info.Height;
        var values = new float[n * src.Info.BandCount];
        var valid = new byte[n];
        src.Read(src.Extent, src.AllBands, values, valid);
        return (values, valid, src.Info.BandCount, n);
    }

    [Fact]
    public void SignalFractions_AreThePhysicalOnesWeightedByEachEndmembersSignal()
    {
        var scene = CliRunner.Sample("scene.tif");
        var em = CliRunner.Sample("scene_endmembers.csv");
        var physical = _cli.Run("unmix", scene, "-o", _cli.Path("p.tif"), "--method", "fcls", "-e", em);
        Assert.True(physical.Code == 0, physical.Err);
        var signal = _cli.Run("unmix", scene, "-o", _cli.Path("s.tif"), "--method", "fcls", "-e", em, "--fractions", "signal");
        Assert.True(signal.Code == 0, signal.Err);

        // The endmembers as the run used them (the bands the screening kept).
        var rows = File.ReadAllLines(_cli.Path("p.endmembers.csv"));
        var header = rows[0].Split(',');
        var cols = Enumerable.Range(0, header.Length).Where(i => header[i] is not ("band" or "wavelength")).ToArray();
        var w = cols.Select(c => rows.Skip(1).Sum(r => double.Parse(r.Split(',')[c], CultureInfo.InvariantCulture))).ToArray();

        var (a, valid, bands, n) = ReadAll(_cli.Path("p.tif"));
        var (s, _, _, _) = ReadAll(_cli.Path("s.tif"));
        var p = bands - 1;
        Assert.Equal(w.Length, p);
        var checkedPixels = 0;
        double worst = 0;
        for (var k = 0; k < n; k++)
        {
            if (valid[k] == 0) continue;
            var total = Enumerable.Range(0, p).Sum(j => a[j * n + k] * w[j]);
            for (var j = 0; j < p; j++) worst = Math.Max(worst, Math.Abs(s[j * n + k] - a[j * n + k] * w[j] / total));
            Assert.Equal(1.0, Enumerable.Range(0, p).Sum(j => (double)s[j * n + k]), 4);
            checkedPixels++;
        }
        Assert.True(checkedPixels > 7000);
        Assert.True(worst < 1e-5, $"largest difference {worst}");
        // The residual band is the same fit's.
        Assert.Equal(a.AsSpan(p * n, n).ToArray(), s.AsSpan(p * n, n).ToArray());
        Assert.Contains("fractions=signal", CliRunner.GdalInfo(_cli.Path("s.tif")).GetProperty("metadata").GetProperty("").GetProperty("HYPERUNMIX_PARAMETERS").GetString());
    }
}
