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

    /// <summary>
    /// Late duplicates (planners making attempt folders and writing into them, tile publishers, and a stale
    /// coordinator handing out the scene's plan again, which creates its folder) run flat out while the coordinator
    /// removes the finished scene: afterwards nothing of the scene exists, whatever the interleaving, and the
    /// duplicates keep creating nothing. With a plain recursive delete (no rename first), a recursive mkdir in the
    /// planner, or a scene creation that does not check the tombstone after its mkdir, this leaves folders behind
    /// within a few rounds.
    /// </summary>
    [Fact]
    public async Task RemovedScene_LateDuplicates_CreateNothing()
    {
        var stateDir = TileStore.StateDir(_dir, "job");
        for (var round = 0; round < 40; round++)
        {
            TileStore.CreateJob(stateDir);
            Assert.True(TileStore.CreateScene(stateDir, 0));
            Assert.True(TileStore.CreateScene(stateDir, 1)); // another scene of the job, still running: the job folder stays
            using var stop = new CancellationTokenSource();
            var removed = new ManualResetEventSlim();
            var duplicates = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
            {
                var k = 0;
                var after = 0;
                while (!stop.IsCancellationRequested && after < 200)
                {
                    if (removed.IsSet) after++;
                    try
                    {
                        if (w == 0)
                        {
                            var attempt = Path.Combine(TileStore.SceneDir(stateDir, 0), $"plan-{k++}");
                            if (TileStore.TryCreateFolderIn(attempt)) File.WriteAllBytes(Path.Combine(attempt, "model.json"), [1, 2]);
                        }
                        else if (w == 3) TileStore.CreateScene(stateDir, 0); // a stale coordinator
                        else TileStore.Publish(TileStore.TileFile(stateDir, 0, w * 100000 + k++), [1, 2, 3]);
                    }
                    catch (IOException) { /* the scene went away under it: as a worker's duplicate sees it */ }
                }
            })).ToArray();
            await Task.Delay(round % 5);
            Assert.True(TileStore.RemoveScene(stateDir, 0));
            removed.Set();
            await Task.WhenAll(duplicates);
            Assert.False(Directory.Exists(TileStore.SceneDir(stateDir, 0)), $"round {round}: the removed scene's folder came back");
            Assert.Equal([TileStore.Tombstone(stateDir, 0), TileStore.SceneDir(stateDir, 1)], Directory.EnumerateFileSystemEntries(stateDir).Order(StringComparer.Ordinal));
            Assert.False(TileStore.CreateScene(stateDir, 0));
            Assert.False(TileStore.RemoveScene(stateDir, 0));
            Assert.True(TileStore.RemoveScene(stateDir, 1));
            // The job's folder goes with its last scene, and the shared .hyperunmix when no other job is there.
            TileStore.RemoveJobFolder(stateDir);
            Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
            // Once the job is gone, a stale coordinator can create nothing either.
            Assert.False(TileStore.CreateScene(stateDir, 1));
            Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
        }
    }

    /// <summary>
    /// A coordinator killed while deleting a removed scene's renamed folder leaves it in the job's folder: the job's
    /// folder still goes when the job finishes, with it and the tombstones.
    /// </summary>
    [Fact]
    public void RemoveJobFolder_TakesWhatAKilledCoordinatorLeft()
    {
        var stateDir = TileStore.StateDir(_dir, "job");
        TileStore.CreateJob(stateDir);
        Assert.True(TileStore.CreateScene(stateDir, 0));
        Assert.True(TileStore.RemoveScene(stateDir, 0));
        var half = Path.Combine(stateDir, ".removed-scene-0002-0123", "tiles");
        Directory.CreateDirectory(half);
        File.WriteAllBytes(Path.Combine(half, "000001.tile"), [1]);
        TileStore.RemoveJobFolder(stateDir);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public void TryCreateFolderIn_IsNotRecursive()
    {
        Assert.False(TileStore.TryCreateFolderIn(Path.Combine(_dir, "gone", "plan-1")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "gone")));
        Assert.True(TileStore.TryCreateFolderIn(Path.Combine(_dir, "plan-1")));
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
