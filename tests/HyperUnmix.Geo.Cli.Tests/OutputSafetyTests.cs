using System.Security.Cryptography;
using System.Text.Json;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// The README's promises about outputs, through the real command: no output ever replaces an input, the whole set of
/// files appears together or not at all (whatever fails, disk full included), legal names work, and what killed runs
/// or earlier runs left behind does not survive next to a new result.
/// </summary>
public sealed class OutputSafetyTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string[] Listing(string? dir = null) =>
        Directory.EnumerateFileSystemEntries(dir ?? _cli.Dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static void AssertOneLine(string err, string mention)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got:\n{err}");
        Assert.StartsWith("hyperunmix: ", lines[0]);
        Assert.Contains(mention, lines[0]);
    }

    [Fact]
    public void Unmix_EnviOutputWhoseHeaderIsTheInputsHeader_IsRefusedAndTheInputIsUntouched()
    {
        // x/scene.img -o x/scene.dat --format envi: the output's .hdr is x/scene.hdr, the input's own header.
        foreach (var f in new[] { "scene.img", "scene.hdr" }) File.Copy(CliRunner.Sample(f), _cli.Path(f));
        var before = Hash(_cli.Path("scene.hdr"));
        var (code, _, err) = _cli.Run("unmix", _cli.Path("scene.img"), "-o", _cli.Path("scene.dat"), "--format", "envi", "--overwrite", "-p", "4", "--method", "fcls");
        Assert.Equal(2, code);
        AssertOneLine(err, "scene.hdr");
        Assert.Contains("input", err);
        Assert.Equal(before, Hash(_cli.Path("scene.hdr")));
        Assert.Equal(["scene.hdr", "scene.img"], Listing());
    }

    [Fact]
    public void Unmix_SideOutputThatIsTheEndmemberInput_IsRefusedAndTheInputIsUntouched()
    {
        // -e a.endmembers.csv -o a.tif: the side output a.endmembers.csv would replace the input with a subset.
        File.Copy(CliRunner.Sample("scene_endmembers.csv"), _cli.Path("a.endmembers.csv"));
        var before = Hash(_cli.Path("a.endmembers.csv"));
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-e", _cli.Path("a.endmembers.csv"), "--endmember-names", "soil,water",
            "-o", _cli.Path("a.tif"), "--overwrite", "--method", "fcls");
        Assert.Equal(2, code);
        AssertOneLine(err, "a.endmembers.csv");
        Assert.Equal(before, Hash(_cli.Path("a.endmembers.csv")));
        Assert.Equal(["a.endmembers.csv"], Listing());
    }

    [Fact]
    public void Unmix_OutputThroughASymlinkToTheInput_IsRefused()
    {
        File.Copy(CliRunner.Sample("scene.tif"), _cli.Path("scene.tif"));
        File.CreateSymbolicLink(_cli.Path("link.tif"), _cli.Path("scene.tif"));
        var before = Hash(_cli.Path("scene.tif"));
        var (code, _, err) = _cli.Run("unmix", _cli.Path("scene.tif"), "-o", _cli.Path("link.tif"), "--overwrite", "-p", "4", "--method", "fcls");
        Assert.Equal(2, code);
        AssertOneLine(err, "link.tif");
        Assert.Equal(before, Hash(_cli.Path("scene.tif")));
    }

    /// <summary>A tmpfs of the given size (as root, like CI), unmounted on dispose.</summary>
    private sealed class SmallDisk : IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("hu-full-").FullName;

        public SmallDisk(string size)
        {
            var (code, err) = Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", Dir);
            Assert.True(code == 0, $"mounting a {size} tmpfs needs root (CI runs as root): {err}");
        }

        private static (int, string) Run(params string[] args) => Processes.Run(args[0], args.Skip(1)) is var r ? (r.Code, r.Err) : default;

        public void Dispose()
        {
            Run("umount", Dir);
            Directory.Delete(Dir, true);
        }
    }

    [Theory]
    [InlineData("64k")]    // the raster itself does not fit (it fails when GDAL flushes its blocks)
    [InlineData("160k")]   // the raster fits, a side output does not
    public void Unmix_DiskFull_Exits4WithOneLineAndLeavesNothing(string size)
    {
        using var disk = new SmallDisk(size);
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", Path.Combine(disk.Dir, "b.tif"), "--method", "fcls", "-p", "4");
        Assert.Equal(4, code);
        AssertOneLine(err, disk.Dir);
        Assert.Contains("cannot", err);
        Assert.Empty(Listing(disk.Dir));
    }

    [Fact]
    public void Unmix_FailureAfterTheRasterIsWritten_LeavesNoFileAtAll()
    {
        // The report's metrics read a truth raster that does not cover the output: found only once the abundances
        // are complete.
        Assert.Equal(0, _cli.Run("synth", "-o", _cli.Path("t.tif"), "--width", "30", "--height", "20").Code);
        var before = Listing();
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "4",
            "--truth", _cli.Path("t_abundances.tif"));
        Assert.Equal(3, code);
        AssertOneLine(err, "t_abundances.tif");
        Assert.Equal(before, Listing());
    }

    [Theory]
    [InlineData("fcls", 29)]
    [InlineData("fcls", 64)]
    [InlineData("mtl", 64)]
    public void Unmix_PUpToTheBandCount_WritesEveryOutput(string method, int p)
    {
        // All 64 bands kept (the absorption windows would leave 54), so that P can reach the band count.
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "--method", method, "-p", p.ToString(), "--keep-absorption-bands");
        Assert.True(code == 0, err);
        Assert.Equal(p + 1, CliRunner.GdalInfo(_cli.Path("a.tif")).GetProperty("bands").GetArrayLength());
        Assert.Equal(p, File.ReadAllLines(_cli.Path("a.endmembers.csv"))[0].Split(',').Length - 2);   // band, wavelength, EM1..EMp
        Assert.True(File.Exists(_cli.Path("a.endmembers.png")));
    }

    [Fact]
    public void Unmix_OutputNodataNan_IsWrittenAndReported()
    {
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "4", "--output-nodata", "nan");
        Assert.True(code == 0, err);
        var band = CliRunner.GdalInfo(_cli.Path("a.tif")).GetProperty("bands")[0];
        Assert.Equal("NaN", band.GetProperty("noDataValue").GetString());
        var report = JsonDocument.Parse(File.ReadAllText(_cli.Path("a.report.json"))).RootElement;
        Assert.Equal("NaN", report.GetProperty("parameters").GetProperty("output_nodata").GetString());
    }

    [Fact]
    public void Unmix_LongestLegalNames_Work_AndTooLongSideOutputsAreRefusedUpFront()
    {
        // 240 characters: the name and every side output's name (+15 at most) fit the 255-byte limit.
        var name = new string('n', 236) + ".tif";
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path(name), "--method", "fcls", "-p", "4");
        Assert.True(code == 0, err);
        Assert.True(File.Exists(_cli.Path(new string('n', 236) + ".endmembers.png")));
        Assert.DoesNotContain(Listing(), f => f.StartsWith('.'));

        // 250 characters: legal for the raster, but "<stem>.endmembers.png" would not be: refused before any work.
        var longer = new string('m', 246) + ".tif";
        (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path(longer), "--method", "fcls", "-p", "4");
        Assert.Equal(2, code);
        AssertOneLine(err, "255");
        Assert.DoesNotContain(Listing(), f => f.StartsWith('m'));
    }

    [Fact]
    public void Unmix_TemporariesOfKilledRuns_AreRemoved_ThoseOfLiveRunsAreNot()
    {
        // A process of this machine that no longer exists (pid_max is at most 4194304), an earlier version's
        // temporary for this output, a temporary of a live process (pid 1), and one of another machine sharing the
        // folder (its PID means nothing here).
        var host = Raster.OutputSet.HostTag;
        var other = host == "h000000" ? "h000001" : "h000000";
        File.WriteAllText(_cli.Path($".hu-4194399-{host}-0badf00d-0.tif"), "killed");
        File.WriteAllText(_cli.Path(".a.tif.0123456789abcdef0123456789abcdef.partial.tif"), "killed");
        File.WriteAllText(_cli.Path($".hu-1-{host}-0badf00d-0.tif"), "running");
        File.WriteAllText(_cli.Path($".hu-4194399-{other}-0badf00d-0.tif"), "another machine's");
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "--method", "fcls", "-p", "4");
        Assert.True(code == 0, err);
        Assert.Equal(new[] { $".hu-1-{host}-0badf00d-0.tif", $".hu-4194399-{other}-0badf00d-0.tif" }.Order(StringComparer.Ordinal),
            Listing().Where(f => f.StartsWith('.')));
    }

    private static readonly string[] Overwrite = ["--overwrite"];
    private static readonly Dictionary<string, string> KillInCommit = new() { ["HYPERUNMIX_TEST_KILL_IN_COMMIT"] = "2" };

    /// <summary>
    /// SIGKILL among the final renames left a.tif plus sidecars, which blocked every rerun ("already exists") and
    /// mixed two runs' files. The commit's journal lets the next run into the folder undo it.
    /// </summary>
    [Fact]
    public void Unmix_KilledWhileMovingOutputsIntoPlace_TheNextRunUndoesIt()
    {
        string[] Run(string output, string method, bool overwrite = false, Dictionary<string, string>? env = null)
        {
            var (code, _, err) = _cli.RunWith(env, ["unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path(output), "--method", method,
                "-e", CliRunner.Sample("scene_endmembers.csv"), .. overwrite ? Overwrite : []]);
            if (env is null) Assert.True(code == 0, err);
            else Assert.NotEqual(0, code);
            return Listing();
        }
        var clean = Run("a.tif", "fcls");
        foreach (var f in clean) File.Delete(_cli.Path(f));

        // Killed after two files were placed: a.tif and one more exist, with temporaries and the journal.
        var killed = Run("a.tif", "fcls", env: KillInCommit);
        Assert.Contains("a.tif", killed);
        Assert.Contains(killed, f => f.EndsWith(".journal", StringComparison.Ordinal));
        // The same command again: not blocked by the half-placed set, and nothing of the killed run is left.
        Assert.Equal(clean, Run("a.tif", "fcls"));

        // With --overwrite, killed after the old set was set aside and two new files placed: the next run into the
        // folder (another output) puts the old set back whole.
        Run("a.tif", "nnls", overwrite: true, env: KillInCommit);
        var after = Run("b.tif", "fcls");
        Assert.DoesNotContain(after, f => f.StartsWith('.'));
        Assert.Equal(clean.Length * 2, after.Length);
        Assert.Equal("FCLS", CliRunner.GdalInfo(_cli.Path("a.tif")).GetProperty("metadata").GetProperty("").GetProperty("HYPERUNMIX_METHOD").GetString());
    }

    /// <summary>Small-file temporaries now carry the machine tag, as OutputSet's do; untagged ones of earlier versions are removed once a day old.</summary>
    [Fact]
    public void SmallFileTemporaries_CarryTheMachineTag_UntaggedOldOnesAreRemoved()
    {
        Assert.Equal(Raster.OutputSet.HostTag, Unmixing.Endmembers.EndmemberFiles.HostTag);
        var old = _cli.Path(".hu-4194399-0123456789ab.partial");
        var recent = _cli.Path(".hu-4194398-0123456789ab.partial");
        File.WriteAllText(old, "killed long ago");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-2));
        File.WriteAllText(recent, "maybe a live writer on another machine");
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "--method", "fcls", "-e", CliRunner.Sample("scene_endmembers.csv"));
        Assert.True(code == 0, err);
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(recent));
    }

    [Fact]
    public void Unmix_OverwriteWithAnotherMethod_RemovesWhatTheEarlierRunWroteAndThisOneDoesNot()
    {
        Assert.Equal(0, _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "-p", "4").Code);
        Assert.True(File.Exists(_cli.Path("a.model.json")));
        File.WriteAllText(_cli.Path("a.tif.aux.xml"), "<PAMDataset/>");   // statistics QGIS saved for the old raster
        var (code, _, err) = _cli.Run("unmix", CliRunner.Sample("scene.tif"), "-o", _cli.Path("a.tif"), "-p", "4", "--method", "fcls", "--overwrite");
        Assert.True(code == 0, err);
        Assert.False(File.Exists(_cli.Path("a.model.json")));
        Assert.False(File.Exists(_cli.Path("a.tif.aux.xml")));
        Assert.Equal("FCLS", CliRunner.GdalInfo(_cli.Path("a.tif")).GetProperty("metadata").GetProperty("").GetProperty("HYPERUNMIX_METHOD").GetString());
    }

    public static TheoryData<string> Methods => new() { "mtl", "fcls", "nnls", "scls", "ucls" };

    [Theory]
    [MemberData(nameof(Methods))]
    public void EveryMethod_KeepsThePromises_SameBytesExitCodesNothingHalfWritten(string method)
    {
        // A 300 x 300 scene: several 256-pixel tiles, and 64-pixel tiles on one thread against 256 on two.
        Assert.Equal(0, _cli.Run("synth", "-o", _cli.Path("s.tif"), "--width", "300", "--height", "300", "--bands", "48", "--model", "fan", "--spatial").Code);
        var e = method == "mtl" ? new[] { "-p", "4" } : ["-e", _cli.Path("s_endmembers.csv")];
        string[] Args(string o, params string[] more) => ["unmix", _cli.Path("s.tif"), "-o", _cli.Path(o), "--method", method, .. e, .. more];
        var (c1, _, e1) = _cli.Run(Args("a.tif", "--tile", "64", "--threads", "1"));
        Assert.True(c1 == 0, e1);
        var (c2, _, e2) = _cli.Run(Args("b.tif", "--tile", "256", "--threads", "2", "--memory", "64"));
        Assert.True(c2 == 0, e2);
        Assert.Equal(CliRunner.PixelHash(_cli.Path("a.tif")), CliRunner.PixelHash(_cli.Path("b.tif")));

        // Existing output without --overwrite: exit 4, kept as it was.
        var hash = Hash(_cli.Path("a.tif"));
        var (c3, _, e3) = _cli.Run(Args("a.tif"));
        Assert.Equal(4, c3);
        AssertOneLine(e3, "a.tif");
        Assert.Equal(hash, Hash(_cli.Path("a.tif")));

        // A failure after the raster is complete: nothing of the run appears.
        var before = Listing();
        var (c4, _, e4) = _cli.Run(Args("c.tif", "--truth", CliRunner.Sample("scene_abundances.tif")));   // 100 x 100, not 300 x 300
        Assert.Equal(3, c4);
        AssertOneLine(e4, "scene_abundances.tif");
        Assert.Equal(before, Listing());
    }
}
