namespace HyperUnmix.Geo.Raster.Tests;

public class TilePlanTests
{
    [Theory]
    [InlineData(100, 80, 10)]
    [InlineData(100, 80, 33)]
    [InlineData(1, 1, 256)]
    [InlineData(257, 129, 256)]
    [InlineData(64, 64, 64)]
    public void Tiles_CoverTheAreaExactlyOnce_RowMajorWithClippedEdges(int w, int h, int size)
    {
        var area = new Window(7, 3, w, h);
        var plan = new TilePlan(area, size, size);
        var hits = new int[w * h];
        var previous = (-1, -1);
        foreach (var t in plan.Tiles())
        {
            Assert.True(area.Contains(t.Window), $"{t.Window} leaves {area}");
            Assert.True((t.GridRow, t.GridCol).CompareTo(previous) > 0, "not row-major");
            previous = (t.GridRow, t.GridCol);
            for (var r = t.Window.RowOff; r < t.Window.RowEnd; r++)
                for (var c = t.Window.ColOff; c < t.Window.ColEnd; c++) hits[(r - 3) * w + c - 7]++;
        }
        Assert.All(hits, v => Assert.Equal(1, v));
        Assert.Equal(area.Area, plan.Tiles().Sum(t => t.Window.Area));
    }

    [Fact]
    public void Window_IntersectAndRelative_Work()
    {
        var a = new Window(10, 10, 20, 20);
        Assert.Equal(new Window(20, 15, 10, 15), a.Intersect(new Window(20, 15, 100, 100)));
        Assert.True(a.Intersect(new Window(30, 30, 5, 5)).IsEmpty);
        Assert.Equal(new Window(5, 0, 3, 3), new Window(15, 10, 3, 3).RelativeTo(a));
    }

    [Fact]
    public void TilePlan_EmptyAreaOrBadSize_Throws()
    {
        Assert.Throws<ArgumentException>(() => new TilePlan(new Window(0, 0, 0, 5), 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TilePlan(new Window(0, 0, 5, 5), 0, 4));
    }
}
