using System.Diagnostics;
using System.Globalization;
using HyperUnmix.Geo.Gdal;

namespace HyperUnmix.Geo.Benchmarks;

internal static class Common
{
    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "HyperUnmix.Geo.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("run from inside the repository");
    }

    public static string Cli => Path.Combine(RepoRoot(), "src/HyperUnmix.Geo.Cli/bin/Release/net10.0/hyperunmix.dll");

    /// <summary>
    /// Publishes the command into <paramref name="folder"/> with scripts/publish.sh, the way scripts/setup.sh installs
    /// it (ReadyToRun where the machine's runtime identifier is known), and returns its dll.
    /// </summary>
    public static string Publish(string folder)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Run("bash", Path.Combine(RepoRoot(), "scripts/publish.sh"), folder);
        return Path.Combine(folder, "hyperunmix.dll");
    }

    /// <summary>Writes a float32 cube tile by tile with a generator function (band-sequential tile buffer).</summary>
    public static unsafe void WriteCube(string path, string driver, int w, int h, int bands, string[] options, Action<int, int, int, int, float[]> fill,
        double[]? gt = null, int epsg = 32633)
    {
        using var ds = GdalDataset.Create(driver, path, w, h, bands, GdalDataType.Float32, options);
        ds.SetGeoTransform(gt ?? [500000, 30, 0, 5200000, 0, -30]);
        using (var srs = SpatialReference.FromUserInput($"EPSG:{epsg}")) ds.SetProjection(srs.Wkt);
        var map = Enumerable.Range(1, bands).ToArray();
        const int t = 256;
        var buf = new float[bands * t * t];
        for (var r0 = 0; r0 < h; r0 += t)
            for (var c0 = 0; c0 < w; c0 += t)
            {
                int tw = Math.Min(t, w - c0), th = Math.Min(t, h - r0);
                fill(c0, r0, tw, th, buf);
                fixed (float* p = buf) ds.RasterIO(true, c0, r0, tw, th, p, GdalDataType.Float32, map, 4, 4L * tw, 4L * tw * th);
            }
        ds.Close();
    }

    /// <summary>Reads a file once so that the measured runs find it in the page cache.</summary>
    public static void Warm(string path)
    {
        var buf = new byte[1 << 22];
        using var f = File.OpenRead(path);
        while (f.Read(buf) > 0) { }
    }

    /// <summary>
    /// Runs a program, returning wall seconds and peak resident memory (polled from /proc): the largest sum of VmRSS
    /// over the process and its descendants (OTB's otbcli_* are shell wrappers around the real process).
    /// </summary>
    public static (double Seconds, long PeakRssMb, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peak = 0;
        List<int> tree = [p.Id];
        for (var poll = 0; !p.WaitForExit(20); poll++)
        {
            // The process tree is looked up every 10th poll only: scanning /proc costs CPU the measured run shares.
            if (poll % 10 == 0) tree = Tree(p.Id);
            long sum = 0;
            foreach (var pid in tree) sum += Status(pid, "VmRSS:");
            peak = Math.Max(peak, sum / 1024);
        }
        sw.Stop();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        return (sw.Elapsed.TotalSeconds, peak, stdout.Result);
    }

    private static long Status(int pid, string key)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return 0;
    }

    /// <summary>The process and all its descendants, from the parent ids in /proc/*/stat.</summary>
    private static List<int> Tree(int root)
    {
        var parent = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText($"{dir}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parent[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            }
            catch (IOException) { }
        }
        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
            tree.AddRange(parent.Where(kv => kv.Value == tree[i]).Select(kv => kv.Key));
        return tree;
    }

    /// <summary>The fastest of <paramref name="repeat"/> runs of <paramref name="run"/>, seconds (in-process timings on a shared machine vary).</summary>
    public static double BestSeconds(int repeat, Action run)
    {
        var best = double.MaxValue;
        for (var i = 0; i < repeat; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>
    /// Writes <paramref name="generated"/> into <paramref name="doc"/> between the markers "generated by
    /// <paramref name="by"/>: begin/end", keeping whatever the document holds outside them (hand-written sections);
    /// a document without the markers is replaced whole.
    /// </summary>
    public static void ReplaceGenerated(string doc, string generated, string by)
    {
        string begin = $"<!-- generated by {by}: begin -->", end = $"<!-- generated by {by}: end -->";
        var text = begin + "\n" + generated + end + "\n";
        var old = File.Exists(doc) ? File.ReadAllText(doc) : "";
        int b = old.IndexOf(begin, StringComparison.Ordinal), e = old.IndexOf(end, StringComparison.Ordinal);
        File.WriteAllText(doc, b >= 0 && e > b ? old[..b] + text + old[(e + end.Length)..].TrimStart('\n') : text);
    }
}
