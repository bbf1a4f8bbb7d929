namespace HyperUnmix.Geo.Cluster.Tests;

public sealed class TileStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-tiles-").FullName;

    [Fact]
    public void Publish_FirstWriterWins_TheSecondIsDroppedAndLeavesNothing()
    {
        var path = Path.Combine(_dir, "000001.tile");
        Assert.True(TileStore.Publish(path, [1, 2, 3]));
        Assert.False(TileStore.Publish(path, [9, 9]));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.EnumerateFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Publish_IntoAFolderThatWasRemoved_Fails_AndCreatesNothing()
    {
        var gone = Path.Combine(_dir, "scene-0001", "tiles", "000001.tile");
        Assert.Throws<DirectoryNotFoundException>(() => TileStore.Publish(gone, [1]));
        Assert.False(Directory.Exists(Path.Combine(_dir, "scene-0001")));
    }

    [Fact]
    public void Publish_ManyConcurrentWriters_ExactlyOneWins()
    {
        var path = Path.Combine(_dir, "race.tile");
        var wins = 0;
        Parallel.For(0, 64, i => { if (TileStore.Publish(path, BitConverter.GetBytes(i))) Interlocked.Increment(ref wins); });
        Assert.Equal(1, wins);
        Assert.Single(Directory.EnumerateFiles(_dir));
    }

    [Fact]
    public void Tile_RoundTrips_AndRefusesAnotherShape()
    {
        var data = Enumerable.Range(0, 3 * 10).Select(i => i * 0.5f).ToArray();
        var path = Path.Combine(_dir, "t.tile");
        Assert.True(TileStore.Publish(path, TileStore.EncodeTile(7, 3, data)));
        var (valid, output) = TileStore.ReadTile(path, 3, 10);
        Assert.Equal(7, valid);
        Assert.Equal(data, output);
        var e = Assert.Throws<HyperUnmix.Geo.Raster.RasterDataException>(() => TileStore.ReadTile(path, 4, 10));
        Assert.Contains(path, e.Message);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
