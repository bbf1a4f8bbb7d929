using System.Text.RegularExpressions;

namespace HyperUnmix.Geo.Cluster.Tests;

/// <summary>Scenes and their single-machine outputs, made once with the real command.</summary>
public sealed class Archive : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("hu-archive-").FullName;
    public string[] Scenes { get; }
    public static readonly string[] Fcls = ["--method", "fcls", "-p", "4", "--tile", "32"];
    public static readonly string[] Mtl = ["-p", "3", "--epochs", "15", "--tile", "48"];

    public Archive()
    {
        Scenes = Enumerable.Range(1, 3).Select(i => Path.Combine(Dir, $"scene{i}.tif")).ToArray();
        for (var i = 0; i < Scenes.Length; i++)
        {
            var (code, _, err) = Local("synth", "-o", Scenes[i], "--width", (110 + 10 * i).ToString(), "--height", "96", "--bands", "40", "--seed", (i + 1).ToString(), "--spatial");
            Assert.True(code == 0, err);
        }
        foreach (var (name, options) in new[] { ("fcls", Fcls), ("mtl", Mtl) })
        {
            Directory.CreateDirectory(Reference(name));
            foreach (var s in Scenes)
            {
                var (code, _, err) = Local(["unmix", s, "-o", Path.Combine(Reference(name), Path.GetFileNameWithoutExtension(s) + "_abundances.tif"), .. options]);
                Assert.True(code == 0, err);
            }
        }
    }

    public string Reference(string method) => Path.Combine(Dir, "reference-" + method);

    private static (int, string, string) Local(params string[] args) => LocalCluster.Command(null, args);

    /// <summary>Asserts that a job's outputs are byte for byte the single-machine run's (raster, endmembers, model, style, quick-looks).</summary>
    public void AssertSameAsSingleMachine(string outDir, string method, LocalCluster? cluster = null)
    {
        foreach (var s in Scenes)
        {
            var stem = Path.GetFileNameWithoutExtension(s) + "_abundances";
            var suffixes = new List<string> { ".tif", ".endmembers.csv", ".endmembers.sli", ".qml", ".abundances.png", ".endmembers.png" };
            if (method == "mtl") suffixes.Add(".model.json");
            foreach (var suffix in suffixes)
            {
                var mine = Path.Combine(outDir, stem + suffix);
                Assert.True(File.Exists(mine), $"{mine} is missing");
                Assert.True(File.ReadAllBytes(Path.Combine(Reference(method), stem + suffix)).AsSpan().SequenceEqual(File.ReadAllBytes(mine)),
                    $"{mine} differs from the single-machine run's");
            }
        }
        // The job's working files are gone once it is done, and no temporary is left.
        var state = Path.Combine(outDir, ".hyperunmix");
        if (Directory.Exists(state)) Assert.Fail(LeftBehind(state, cluster));
        Assert.Empty(Directory.EnumerateFiles(outDir, ".hu-*"));
    }

    /// <summary>What a job left in its state folder (name and time of each entry), and what the workers said of scenes.</summary>
    private static string LeftBehind(string state, LocalCluster? cluster)
    {
        var entries = Directory.EnumerateFileSystemEntries(state, "*", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetRelativePath(state, f)} {File.GetLastWriteTimeUtc(f):HH:mm:ss.fff}");
        var said = cluster?.Workers.SelectMany(w => w.Output.Split('\n'))
            .Where(l => l.Contains("scene", StringComparison.OrdinalIgnoreCase) || l.Contains("remove", StringComparison.OrdinalIgnoreCase));
        return "the job's state folder was left behind, holding: " + string.Join(", ", entries) +
               (said is null ? "" : "\nworkers said:\n" + string.Join("\n", said));
    }

    public void Dispose() => Directory.Delete(Dir, true);
}

/// <summary>
/// The cluster mode on a real loopback cluster (Redis + worker processes), against the single-machine run's bytes,
/// with workers and coordinators killed under it.
/// </summary>
[Trait("Category", "Cluster")]
public sealed partial class ClusterTests(Archive archive) : IClassFixture<Archive>
{
    private static readonly Dictionary<string, string> Slow = new() { ["HYPERUNMIX_TILE_DELAY_MS"] = "250" };

    private (int Code, string Out, string Err) Submit(LocalCluster c, string job, string outDir, string[] options, bool wait) =>
        c.Run(["cluster", "submit", .. archive.Scenes, "-o", outDir, "--job", job, .. options, .. (wait ? WaitFlag : [])]);

    private static readonly string[] WaitFlag = ["--wait"];

    [Fact]
    public void SeveralScenes_OnThreeWorkers_AreByteIdenticalToTheSingleMachineRun()
    {
        using var c = new LocalCluster();
        c.StartWorkers(3);
        foreach (var (method, options) in new[] { ("fcls", Archive.Fcls), ("mtl", Archive.Mtl) })
        {
            var outDir = Path.Combine(c.Dir, "out-" + method);
            var (code, output, err) = Submit(c, method, outDir, options, wait: true);
            Assert.True(code == 0, output + err);
            archive.AssertSameAsSingleMachine(outDir, method, c);
            var s = c.Status(method);
            Assert.Equal("done", s.State);
            Assert.Equal(s.Tiles, s.TilesDone);
            Assert.Equal(0, s.Duplicates);
        }
        // Work was spread: items were completed by all three worker processes.
        Assert.Matches("items completed by 3 worker processes", c.Status("fcls").Text);
    }

    /// <summary>
    /// MESMA through the cluster (`cluster mesma`): three real EnMAP L2A tiles with the Berlin library, as a user
    /// runs `hyperunmix mesma` on each, with the spread of the near-best models and a Monte Carlo run on top.
    /// </summary>
    [Fact]
    public void Mesma_OnTwoWorkers_IsByteIdenticalToTheSingleMachineRun()
    {
        string[] scenes = ["64_0", "96_32", "96_128"];
        scenes = scenes.Select(t => Repo.Dataset($"enmap_potsdam/enmap_potsdam_tile_{t}.tif")).ToArray();
        string[] library = ["--library", Repo.Dataset("spectral_libraries/enmapbox_berlin/library_berlin.sli")];
        string[] options = [.. library, "--class-field", "level_1", "--drop-uncovered-bands", "--tile", "16", "--uncertainty", "0.002", "--monte-carlo", "2"];
        using var c = new LocalCluster();
        var reference = Directory.CreateDirectory(Path.Combine(c.Dir, "reference")).FullName;
        foreach (var s in scenes)
        {
            var (code, _, err) = LocalCluster.Command(null, ["mesma", s, "-o", Path.Combine(reference, Path.GetFileNameWithoutExtension(s) + "_fractions.tif"), .. options]);
            Assert.True(code == 0, err);
        }
        c.StartWorkers(2);
        var outDir = Path.Combine(c.Dir, "out");
        // A library without the class field asked for is refused at submit, naming the library, and no job is made.
        var (badCode, _, badErr) = c.Run(["cluster", "mesma", .. scenes, "-o", outDir, "--job", "bad", .. library, "--class-field", "nope", "--drop-uncovered-bands"]);
        Assert.Equal(3, badCode);
        Assert.Contains("library_berlin.sli: has no class field 'nope'", badErr);
        Assert.Equal(2, c.Run("cluster", "status", "--job", "bad").Code);
        var (submitCode, output, submitErr) = c.Run(["cluster", "mesma", .. scenes, "-o", outDir, "--job", "classes", .. options, "--wait"]);
        Assert.True(submitCode == 0, output + submitErr);
        foreach (var s in scenes)
            foreach (var suffix in new[] { ".tif", ".models.csv", ".qml" })
            {
                var name = Path.GetFileNameWithoutExtension(s) + "_fractions" + suffix;
                var mine = Path.Combine(outDir, name);
                Assert.True(File.Exists(mine), $"{mine} is missing");
                Assert.True(File.ReadAllBytes(Path.Combine(reference, name)).AsSpan().SequenceEqual(File.ReadAllBytes(mine)), $"{mine} differs from the single-machine run's");
            }
        var status = c.Status("classes");
        Assert.Equal("done", status.State);
        Assert.Equal(12, status.Tiles);
        Assert.Equal(12, status.TilesDone);
        Assert.False(Directory.Exists(Path.Combine(outDir, ".hyperunmix")), "the job's state folder was left behind");
    }

    /// <summary>Three slow workers, a job submitted without waiting, and its status once a few tiles are done.</summary>
    private JobCounts StartMidRun(LocalCluster c, string job, string outDir, string[] options, int tiles = 4)
    {
        c.StartWorkers(3, environment: Slow);
        Assert.Equal(0, Submit(c, job, outDir, options, wait: false).Code);
        // Generous: planning three scenes under a loaded CI machine took over 2 minutes (measured with a busy loop per core).
        return c.WaitFor(job, x => x.TilesDone >= tiles, TimeSpan.FromMinutes(6));
    }

    /// <summary>Waits for the job, checks its outputs against the single-machine run's and that every tile is done.</summary>
    private JobCounts WaitAndCompare(LocalCluster c, string job, string outDir, string method)
    {
        var (code, output, err) = c.Run("cluster", "wait", "--job", job);
        Assert.True(code == 0, output + err);
        archive.AssertSameAsSingleMachine(outDir, method, c);
        var end = c.Status(job);
        Assert.Equal(end.Tiles, end.TilesDone);
        return end;
    }

    [Fact]
    public void SigkillWorker_MidRun_JobCompletes_WithNoTileLost()
    {
        using var c = new LocalCluster();
        var outDir = Path.Combine(c.Dir, "out");
        var s = StartMidRun(c, "k", outDir, Archive.Fcls);
        c.Workers.First(w => w.Silo != s.Coordinator).Kill();
        WaitAndCompare(c, "k", outDir, "fcls");
    }

    [Fact]
    public void SigkillTheCoordinatorsSilo_MidRun_CoordinatorMoves_JobCompletes()
    {
        using var c = new LocalCluster();
        var outDir = Path.Combine(c.Dir, "out");
        var s = StartMidRun(c, "coord", outDir, Archive.Fcls);
        var host = c.Workers.Single(w => w.Silo == s.Coordinator);
        host.Kill();
        var end = WaitAndCompare(c, "coord", outDir, "fcls");
        Assert.NotEqual(host.Silo, end.Coordinator);
        Assert.True(Activations(end.Text) >= 2, end.Text);
    }

    [Fact]
    public void SigkillEverything_ThenResubmit_ResumesAndCompletes()
    {
        using var c = new LocalCluster();
        var outDir = Path.Combine(c.Dir, "out");
        StartMidRun(c, "all", outDir, Archive.Mtl, tiles: 2);
        foreach (var w in c.Workers) w.Kill();
        c.StartWorkers(3);
        // The same command re-attaches: it neither restarts nor refuses the job, and what was done stays done.
        var (code, output, err) = Submit(c, "all", outDir, Archive.Mtl, wait: true);
        Assert.True(code == 0, output + err);
        var end = WaitAndCompare(c, "all", outDir, "mtl");
        // The coordinator came back from Redis on a new worker (a fresh job would count one activation).
        Assert.True(Activations(end.Text) >= 2, end.Text);
    }

    [Fact]
    public void ForcedDuplicateDeliveries_AreDropped_OutputUnchanged()
    {
        using var c = new LocalCluster();
        // Leases of 100 ms for tiles that take 250 ms: most tiles are handed to a second worker while the first works.
        c.StartWorkers(3, threads: 2, environment: new Dictionary<string, string>(Slow) { ["HYPERUNMIX_TILE_LEASE_MS"] = "100" });
        var outDir = Path.Combine(c.Dir, "out");
        Assert.Equal(0, Submit(c, "dup", outDir, Archive.Fcls, wait: false).Code);
        var s = WaitAndCompare(c, "dup", outDir, "fcls");
        Assert.True(s.Duplicates > 0, s.Text);
    }

    [Fact]
    public void Sigterm_DrainsTheWorker_ItFinishesItsItemsAndLeaves()
    {
        using var c = new LocalCluster();
        var outDir = Path.Combine(c.Dir, "out");
        StartMidRun(c, "drain", outDir, Archive.Fcls, tiles: 3);
        var w = c.Workers[0];
        w.Terminate();
        Assert.True(w.WaitForExit(TimeSpan.FromSeconds(60)), "the worker did not leave after SIGTERM: " + w.Output);
        Assert.Equal(0, w.ExitCode);
        Assert.Contains("worker draining", w.Output);
        Assert.Matches(@"worker stopped: \d+ items processed", w.Output);
        var end = WaitAndCompare(c, "drain", outDir, "fcls");
        // Its items were finished and reported, not handed out again as a dead worker's would be. Every hand-out again
        // is logged by the coordinator naming the lease's worker (host/pid/loop); on a heavily loaded machine another
        // worker's lease may be handed out again for its own reasons (seen once in 5 loaded runs), never the drained one's.
        var requeues = c.Workers.SelectMany(x => x.Output.Split('\n')).Where(l => l.Contains("handed out again", StringComparison.Ordinal)).ToList();
        Assert.True(requeues.Count >= end.Requeued, $"{end.Requeued} requeued, {requeues.Count} logged: {end.Text}");
        Assert.DoesNotContain(requeues, l => l.Contains($"/{w.Pid}/", StringComparison.Ordinal));
    }

    [Fact]
    public void BadInputs_AreRefusedAtSubmit_NamingTheFile()
    {
        using var c = new LocalCluster();
        // No worker yet: a clear error, exit 5, at once and in one line (it waited 30 s, then printed the host's stack trace).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (code, _, err) = c.Run("cluster", "status", "--job", "x");
        Assert.Equal(5, code);
        Assert.Contains("no worker of cluster", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        // A missing scene is bad input (exit 3), checked before the cluster is asked anything.
        (code, _, err) = c.Run(["cluster", "submit", Path.Combine(c.Dir, "missing.tif"), "-o", Path.Combine(c.Dir, "o"), "--job", "m", .. Archive.Fcls]);
        Assert.Equal(3, code);
        Assert.Contains("missing.tif: file not found", err);
        c.StartWorkers(1);
        var corrupt = Path.Combine(c.Dir, "corrupt.tif");
        File.WriteAllText(corrupt, "not a raster");
        (code, _, err) = c.Run(["cluster", "submit", archive.Scenes[0], corrupt, "-o", Path.Combine(c.Dir, "o"), "--job", "bad", .. Archive.Fcls]);
        Assert.Equal(3, code);
        Assert.Contains(corrupt, err);
        Assert.Single(err.Trim().Split('\n'));
        (code, _, err) = c.Run("cluster", "status", "--job", "bad");
        Assert.Equal(2, code);
        Assert.Contains("no job named bad", err);
        // Resubmitting a job under the same name with other options is refused.
        var outDir = Path.Combine(c.Dir, "o2");
        // Scenes from a list file (paths relative to it, comments skipped), and the status as JSON per scene.
        var list = Path.Combine(c.Dir, "archive.txt");
        File.WriteAllLines(list, ["# one scene", Path.GetRelativePath(c.Dir, archive.Scenes[0]), ""]);
        Assert.Equal(0, c.Run(["cluster", "submit", "@" + list, "-o", outDir, "--job", "one", .. Archive.Fcls, "--wait"]).Code);
        var (statusCode, statusJson, _) = c.Run("cluster", "status", "--job", "one", "--json");
        Assert.Equal(0, statusCode);
        var status = System.Text.Json.JsonDocument.Parse(statusJson).RootElement;
        Assert.Equal("done", status.GetProperty("state").GetString());
        var scene = Assert.Single(status.GetProperty("scenes").EnumerateArray());
        Assert.Equal(Path.GetFullPath(archive.Scenes[0]), scene.GetProperty("input").GetString());
        Assert.Equal("done", scene.GetProperty("phase").GetString());
        Assert.Equal(scene.GetProperty("tiles").GetInt32(), scene.GetProperty("tiles_done").GetInt32());
        // A folder whose files match no --glob is refused before anything runs.
        (code, _, err) = c.Run(["cluster", "submit", c.Dir, "--glob", "*.nothing", "-o", outDir, "--job", "empty", .. Archive.Fcls]);
        Assert.Equal(3, code);
        Assert.Contains("no file in the folder matches --glob '*.nothing'", err);
        (code, _, err) = c.Run(["cluster", "submit", archive.Scenes[0], "-o", outDir, "--job", "one", "--method", "nnls", "-p", "4"]);
        Assert.Equal(2, code);
        Assert.Contains("exists with other scenes", err);
        // Its outputs deleted, the same submit must not report them as done.
        var written = Directory.GetFiles(outDir, "*_abundances.tif").Single();
        File.Delete(written);
        (code, var text, err) = c.Run(["cluster", "submit", archive.Scenes[0], "-o", outDir, "--job", "one", .. Archive.Fcls, "--wait"]);
        Assert.True(code == 4, $"exit {code}: {text}{err}");
        Assert.Contains($"{written}: no longer exists", err);
        Assert.Contains("new --job", err);
        // A job that failed on bad data, submitted again after the data was fixed: told how to run it again.
        var nan = Path.Combine(c.Dir, "nan.img");
        using (var translate = System.Diagnostics.Process.Start("gdal_translate", ["-q", "-of", "ENVI", "-ot", "Float32", archive.Scenes[0], nan])!) translate.WaitForExit();
        var good = File.ReadAllBytes(nan);
        using (var f = File.OpenWrite(nan)) f.Write(BitConverter.GetBytes(float.NaN)); // band 1, pixel (0, 0): BSQ
        var nanOut = Path.Combine(c.Dir, "o3");
        (code, _, err) = c.Run(["cluster", "submit", nan, "-o", nanOut, "--job", "nan", .. Archive.Fcls, "--wait"]);
        Assert.True(code == 3, $"exit {code}: {err}");
        Assert.Contains("NaN", err);
        // A failed job leaves no state folder behind (its record is in Redis, for status and resubmits).
        Assert.False(Directory.Exists(Path.Combine(nanOut, ".hyperunmix")), "the failed job's state folder was left behind");
        File.WriteAllBytes(nan, good);
        (code, _, err) = c.Run(["cluster", "submit", nan, "-o", nanOut, "--job", "nan", .. Archive.Fcls, "--wait"]);
        Assert.True(code == 3, $"exit {code}: {err}");
        Assert.Contains("job nan already ran and failed for 1 of 1 scenes", err);
        Assert.Contains("submit under a new --job name", err);
        Assert.Equal(0, c.Run(["cluster", "submit", nan, "-o", nanOut, "--job", "nan2", .. Archive.Fcls, "--wait"]).Code);
        // Unreachable Redis: exit 5, naming it.
        var dead = LocalCluster.Command(null, "cluster", "status", "--job", "x", "--redis", $"127.0.0.1:{ClusterSetup.FreePort()}");
        Assert.Equal(5, dead.Code);
        Assert.Contains("cannot reach Redis", dead.Err);
    }

    private static int Activations(string status) => int.Parse(ActivationsRegex().Match(status).Groups[1].Value);

    [GeneratedRegex(@"coordinator activations (\d+)")]
    private static partial Regex ActivationsRegex();
}
