namespace HyperUnmix.Geo.Raster.Tests;

public sealed class OutputSetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-outputset-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void Write(OutputSet set, string final, string text) => File.WriteAllText(set.Temp(final), text);

    /// <summary>
    /// Two runs into the same name started together both pass Begin's check (nothing exists yet); the one that
    /// finishes second must fail with "already exists" and leave the first run's set whole, not replace it
    /// (reliability round 2, item 1: both exited 0 and one run's files silently replaced the other's).
    /// </summary>
    [Fact]
    public void TwoRunsIntoOneName_TheSecondFails_TheFirstRunsFilesStay()
    {
        var tif = Path.Combine(_dir, "a.tif");
        var csv = Path.Combine(_dir, "a_endmembers.csv");
        using var first = OutputSet.Begin([tif, csv], [], overwrite: false);
        using var second = OutputSet.Begin([tif, csv], [], overwrite: false);
        Write(first, tif, "first raster");
        Write(first, csv, "first table");
        Write(second, tif, "second raster");
        Write(second, csv, "second table");

        first.Commit();
        var e = Assert.Throws<RasterOutputException>(second.Commit);
        Assert.Contains("already exists", e.Message);
        Assert.Contains("another run", e.Message);
        second.Dispose();

        Assert.Equal("first raster", File.ReadAllText(tif));
        Assert.Equal("first table", File.ReadAllText(csv));
        Assert.Equal(["a.tif", "a_endmembers.csv"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>With permission to overwrite, the later run replaces the earlier one's set whole.</summary>
    [Fact]
    public void WithOverwrite_TheLaterRunReplacesTheSet()
    {
        var tif = Path.Combine(_dir, "a.tif");
        using var first = OutputSet.Begin([tif], [], overwrite: true);
        using var second = OutputSet.Begin([tif], [], overwrite: true);
        Write(first, tif, "first");
        Write(second, tif, "second");
        first.Commit();
        second.Commit();
        Assert.Equal("second", File.ReadAllText(tif));
        Assert.Equal(["a.tif"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}
