using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Metrics;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// Accuracy on the real benchmark scenes (Samson, Jasper Ridge), stage by stage through the real command: VCA +
/// FCLS, then N-FINDR, the archetypal refinement, the pixel scale, and the default run, next to OTB and to the best
/// deep peer of ../shared/design/peers.md. Each row is scored twice: endmembers matched to the reference on
/// abundance maps (HySUPP's convention) and on SAD. No setting is tuned on the ground truth.
/// Writes a Markdown table (default docs/accuracy-linear.md) with the command that produced it.
/// </summary>
internal static class AccuracyBenchmark
{
    /// <param name="Convention">Options every run of the scene gets: the fraction convention of its reference (Samson's is signal-weighted).</param>
    private sealed record Scene(string Name, string Cube, string Abundances, string Endmembers, int P, string Peer, double PeerSad, double PeerArmse, string[]? Convention = null)
    {
        public string[] Args => Convention ?? [];
    }

    public static void Run(Args a)
    {
        var root = Common.RepoRoot();
        var data = Path.GetFullPath(Path.Combine(root, a.Str("datasets", "../shared/datasets")));
        var outDoc = Path.Combine(root, a.Str("out", "docs/accuracy-linear.md"));
        var work = Path.Combine(root, a.Str("data", "bench-data"), "accuracy");
        Directory.CreateDirectory(work);
        var endmemberDoc = Path.Combine(root, a.Str("endmember-doc", "docs/endmembers.md"));
        if (a.Str("only", "") == "rare")
        {
            RareMaterials(endmemberDoc, data, work);
            return;
        }
        Scene[] scenes =
        [
            // Samson's reference is signal-weighted (docs/accuracy-linear.md): every run of it writes that convention.
            new("Samson", $"{data}/samson/samson_cube.tif", $"{data}/samson/samson_abundances.tif", $"{data}/samson/samson_endmembers.csv", 3, "MSNet", 1.45, 11.8, ["--fractions", "signal"]),
            new("Jasper Ridge", $"{data}/jasper_ridge/jasper_ridge_cube.tif", $"{data}/jasper_ridge/jasper_ridge_abundances.tif", $"{data}/jasper_ridge/jasper_ridge_endmembers.csv", 4, "CNNAEU", 5.60, 12.4),
        ];
        (string Label, string[] Args)[] stages =
        [
            ("VCA + FCLS", ["--method", "fcls", "--extractor", "vca", "--no-refine"]),
            ("+ N-FINDR", ["--method", "fcls", "--no-refine"]),
            ("+ archetypal refinement", ["--method", "fcls"]),
            ("+ pixel scale (scaled model) = fcls --normalize scale", ["--method", "fcls", "--normalize", "scale"]),
            ("ablation: unit-length pixels instead (--normalize l2)", ["--method", "fcls", "--normalize", "l2"]),
            ("ablation: VCA + refinement + scale (no N-FINDR)", ["--method", "fcls", "--extractor", "vca", "--normalize", "scale"]),
            ("**default** (`unmix CUBE -p P`: + deep column network, mtl)", []),
        ];
        var md = new StringBuilder();
        md.AppendLine("# Accuracy on real benchmark scenes, stage by stage");
        md.AppendLine();
        md.AppendLine("Produced by `dotnet run -c Release --project bench/HyperUnmix.Geo.Benchmarks -- accuracy` on " +
                      $"{DateTime.UtcNow:yyyy-MM-dd} (2 cores, other work running). Every row is the real command (`hyperunmix unmix CUBE -p P` plus the options shown; " +
                      "Samson's runs add `--fractions signal`, its reference's convention, here and in the brightness table below), " +
                      "seed 42 unless stated. SAD in degrees; aRMSE = 100 x sqrt(mean((A - Aref)^2)) over all P x N entries (HySUPP's convention). " +
                      "Endmembers are matched to the reference by the Hungarian method, on abundance maps (HySUPP) and on SAD. " +
                      "Time: wall clock of the whole command. Nothing was tuned on the ground truth.");
        md.AppendLine();
        md.AppendLine("| scene | stage | SAD (abund. match) | aRMSE (abund. match) | SAD (SAD match) | aRMSE (SAD match) | time (s) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var s in scenes)
        {
            var key = s.Name.Replace(' ', '_');
            for (var k = 0; k < stages.Length; k++)
            {
                var (label, extra) = stages[k];
                var output = Path.Combine(work, $"{key}-{k}.tif");
                var r = Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", output, "-p", s.P.ToString(CultureInfo.InvariantCulture), "--overwrite", .. extra, .. s.Args]);
                md.AppendLine(Row(s, label, output, r.Seconds));
            }
            foreach (var seed in new[] { 1, 2, 3 })
            {
                var output = Path.Combine(work, $"{key}-default-seed{seed}.tif");
                var r = Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", output, "-p", s.P.ToString(CultureInfo.InvariantCulture), "--overwrite", "--seed", seed.ToString(CultureInfo.InvariantCulture), .. s.Args]);
                md.AppendLine(Row(s, $"default, seed {seed}", output, r.Seconds));
            }
            if (File.Exists("/usr/bin/otbcli_VertexComponentAnalysis"))
            {
                var endm = Path.Combine(work, $"{key}-otb-vca.tif");
                var abund = Path.Combine(work, $"{key}-otb-ucls.tif");
                var t1 = Common.Run("otbcli_VertexComponentAnalysis", "-in", s.Cube, "-ne", s.P.ToString(CultureInfo.InvariantCulture), "-rand", "42", "-outendm", endm);
                var t2 = Common.Run("otbcli_HyperspectralUnmixing", "-in", s.Cube, "-ie", endm, "-out", abund, "-ua", "ucls");
                var est = ReadOtbEndmembers(endm, EndmemberFiles.Load(s.Endmembers).Bands);
                var byA = Evaluation.Score(abund, s.Abundances, s.Endmembers, est, matchBy: MatchBy.Abundance);
                var byS = Evaluation.Score(abund, s.Abundances, s.Endmembers, est);
                md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {s.Name} | OTB VCA (seed 42) + UCLS | {byA.MeanSadDegrees:F2} | {byA.AbundanceRmse * 100:F2} | {byS.MeanSadDegrees:F2} | {byS.AbundanceRmse * 100:F2} | {t1.Seconds + t2.Seconds:F2} |"));
            }
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {s.Name} | best deep peer: {s.Peer} (peers.md, HySUPP) | {s.PeerSad:F2} | {s.PeerArmse:F1} | | | |"));
        }
        md.AppendLine();
        md.AppendLine("Notes: OTB's UCLS abundances are unconstrained (negative values and sums far from one are possible). Samson's reference " +
                      "endmembers are max-normalised (shape only).");
        md.AppendLine();
        Brightness(md, scenes, data, work);
        Directory.CreateDirectory(Path.GetDirectoryName(outDoc)!);
        Common.ReplaceGenerated(outDoc, md.ToString(), "bench accuracy");
        Console.Write(md.ToString());
        RareMaterials(endmemberDoc, data, work);
    }

    /// <summary>
    /// Issue 19, item 3: the endmember pipeline against its parts and SISAL on 64-band scenes (the USGS library's bands
    /// evenly thinned) with a dark material, rare materials in small patches, shading, and scenes without pure pixels.
    /// Every row is the full default run with only the extractor or the refinement changed. Written into
    /// docs/endmembers.md's generated block.
    /// </summary>
    private static void RareMaterials(string doc, string data, string work)
    {
        var lib = $"{data}/usgs_library/usgs_1995_library_aviris224.csv";
        const string withRare = "Magnetite HS78.3B,Kaolinite CM9,Montmorillonite SWy-1,Buddingtonite GDS85 D-206,Calcite WS272";
        const string bright4 = "Alunite GDS84 Na03,Kaolinite CM9,Montmorillonite SWy-1,Calcite WS272";
        const string dark4 = "Magnetite HS78.3B,Kaolinite CM9,Montmorillonite SWy-1,Calcite WS272";
        (string Label, string Names, int P, string[] Extra, int Seed)[] scenes =
        [
            ("rare 1% each, 30 dB", withRare, 5, ["--rare", "2", "--rare-fraction", "0.01", "--snr", "30"], 1),
            ("rare 1% each, 30 dB, illumination 0.3-1", withRare, 5, ["--rare", "2", "--rare-fraction", "0.01", "--snr", "30", "--illumination", "0.3"], 2),
            ("rare 1% each, 40 dB", withRare, 5, ["--rare", "2", "--rare-fraction", "0.01", "--snr", "40"], 3),
            ("rare 1% each, 40 dB, illumination 0.3-1", withRare, 5, ["--rare", "2", "--rare-fraction", "0.01", "--snr", "40", "--illumination", "0.3"], 4),
            ("rare 0.2% each (20 pixels), 30 dB", withRare, 5, ["--rare", "2", "--rare-fraction", "0.002", "--snr", "30"], 5),
            ("rare 0.2% each, 30 dB, illumination 0.3-1", withRare, 5, ["--rare", "2", "--rare-fraction", "0.002", "--snr", "30", "--illumination", "0.3"], 6),
            ("no pure pixels: Alunite, Kaolinite, Montmorillonite, Calcite; 40 dB", bright4, 4, ["--max-purity", "0.8", "--pure-pixels", "0", "--snr", "40"], 7),
            ("no pure pixels, the same, 30 dB", bright4, 4, ["--max-purity", "0.8", "--pure-pixels", "0", "--snr", "30"], 8),
            ("no pure pixels, Magnetite instead of Alunite, 40 dB", dark4, 4, ["--max-purity", "0.8", "--pure-pixels", "0", "--snr", "40"], 9),
            ("no pure pixels, the bright four, 40 dB, illumination 0.3-1", bright4, 4, ["--max-purity", "0.8", "--pure-pixels", "0", "--snr", "40", "--illumination", "0.3"], 10),
        ];
        (string Label, string[] Args)[] runs =
        [
            ("default (N-FINDR + refinement)", []),
            ("N-FINDR, `--no-refine`", ["--no-refine"]),
            ("VCA, `--no-refine`", ["--extractor", "vca", "--no-refine"]),
            ("SISAL, `--no-refine`", ["--extractor", "sisal", "--no-refine"]),
        ];
        var md = new StringBuilder();
        md.AppendLine("### The endmember pipeline at 64 bands: a dark material, rare materials, shading, no pure pixels (`bench accuracy`)");
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Produced by `dotnet run -c Release --project bench/HyperUnmix.Geo.Benchmarks -- accuracy` (this section alone: `accuracy --only rare`) on {DateTime.UtcNow:yyyy-MM-dd}. ") +
                      "Scenes: `hyperunmix synth --library usgs_1995_library_aviris224.csv --library-names ... --bands 64` (64 of the library's 224 bands, " +
                      "evenly spaced; the screening leaves out those in the absorption windows), 100 x 100, Dirichlet abundances, Gaussian noise; " +
                      "rare materials (`--rare 2`: Buddingtonite GDS85 D-206 and Calcite WS272) only in 2 x 2 patches at abundance 0.4-1 covering the share " +
                      "given, one pure pixel each, among Magnetite HS78.3B (dark), Kaolinite CM9 and Montmorillonite SWy-1; the scenes without pure pixels " +
                      "cap every abundance at 0.8 (`--max-purity 0.8 --pure-pixels 0`). Each cell: SAD (degrees) / aRMSE x100, endmembers matched on SAD, " +
                      "of the full default run (`unmix CUBE -p P`: brightness test, deep step) with only the extractor and the refinement changed. " +
                      "\"rare\": the default run's SAD for each rare material. \"decisions\": the default run's brightness model and the deep step's network.");
        md.AppendLine();
        md.AppendLine("| scene | P | " + string.Join(" | ", runs.Select(r => r.Label)) + " | rare (default) | decisions (default) |");
        md.AppendLine("|---|---|" + string.Concat(runs.Select(_ => "---|")) + "---|---|");
        foreach (var (label, names, p, extra, seed) in scenes)
        {
            var cube = Path.Combine(work, $"rare-{seed}.tif");
            var ps = p.ToString(CultureInfo.InvariantCulture);
            Common.Run("dotnet", [Common.Cli, "synth", "-o", cube, "--library", lib, "--library-names", names, "-p", ps, "--bands", "64",
                "--seed", seed.ToString(CultureInfo.InvariantCulture), "--overwrite", .. extra]);
            var stem = Path.ChangeExtension(cube, null);
            var cells = new List<string>();
            // Each cell's aRMSE (∞ where the run failed), to bold the row's best.
            var armse = new List<double>();
            var rare = "";
            var decisions = "";
            for (var k = 0; k < runs.Length; k++)
            {
                var output = Path.Combine(work, $"rare-{seed}-{k}.tif");
                try
                {
                    Common.Run("dotnet", [Common.Cli, "unmix", cube, "-o", output, "-p", ps, "--overwrite", .. runs[k].Args]);
                }
                catch (InvalidOperationException e)
                {
                    var mean = System.Text.RegularExpressions.Regex.Match(e.Message, @"mean value (-?[0-9.]+)");
                    cells.Add(e.Message.Contains("past the origin", StringComparison.Ordinal) ? $"fails: vertex past the origin (mean {mean.Groups[1].Value})" : "fails");
                    armse.Add(double.PositiveInfinity);
                    continue;
                }
                var est = EndmemberFiles.Load(Path.ChangeExtension(output, null) + ".endmembers.csv");
                var score = Evaluation.Score(output, stem + "_abundances.tif", stem + "_endmembers.csv", est);
                cells.Add(string.Create(CultureInfo.InvariantCulture, $"{score.MeanSadDegrees:F2} / {score.AbundanceRmse * 100:F2}"));
                armse.Add(score.AbundanceRmse);
                if (k > 0) continue;
                if (extra.Contains("--rare"))
                    rare = string.Join(", ", score.SadRadians.Skip(3).Select(v => (v * 180 / Math.PI).ToString("F2", CultureInfo.InvariantCulture)));
                using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(output, ".report.json")));
                var brightness = report.RootElement.GetProperty("brightness");
                var model = brightness.GetProperty("model").GetString();
                var uncertain = brightness.GetProperty("uncertain").GetBoolean() ? " (uncertain)" : "";
                var kept = report.RootElement.GetProperty("deep_model").GetProperty("nonlinearity").GetProperty("network_kept").GetBoolean();
                decisions = $"{model}{uncertain}; network {(kept ? "kept" : "not kept")}";
            }
            // The best cell of the row in bold (lowest aRMSE).
            var best = armse.IndexOf(armse.Min());
            if (double.IsFinite(armse[best])) cells[best] = $"**{cells[best]}**";
            md.AppendLine($"| {label} | {p} | {string.Join(" | ", cells)} | {rare} | {decisions} |");
        }
        md.AppendLine();
        Common.ReplaceGenerated(doc, md.ToString(), "bench accuracy rare");
        Console.Write(md.ToString());
    }

    /// <summary>
    /// The brightness test's decision on each scene, and what each brightness model scores there: synthetic scenes
    /// with a known answer (a dark endmember, shading, both), the sample scene, Samson and Jasper Ridge. Each row:
    /// the default run (`-p P`, its decision read from the report), the same run with `--normalize scale` and with
    /// `--normalize none`, and FCLS with the default run's endmembers; aRMSE x100 with endmembers matched on
    /// abundances, and the default run's SAD.
    /// </summary>
    private static void Brightness(StringBuilder md, Scene[] real, string data, string work)
    {
        var lib = $"{data}/usgs_library/usgs_1995_library_aviris224.csv";
        const string dark = "Magnetite HS78.3B,Kaolinite CM9,Montmorillonite SWy-1", bright = "Alunite GDS84 Na03,Kaolinite CM9,Montmorillonite SWy-1";
        const string kerogen = "Kerogen BK-Cornell,Alunite GDS84 Na03,Kaolinite CM9";
        (string Label, string Names, double Illumination, int Seed, int Snr)[] synthetic =
        [
            ("dark + 2 bright (Magnetite HS78.3B, Kaolinite CM9, Montmorillonite SWy-1), no shading, seed 1", dark, 1, 1, 30),
            ("the same materials, illumination 0.3-1, seed 2", dark, 0.3, 2, 30),
            ("3 bright (Alunite GDS84, Kaolinite CM9, Montmorillonite SWy-1), illumination 0.3-1, seed 3", bright, 0.3, 3, 30),
            ("3 bright, no shading, seed 4", bright, 1, 4, 30),
            // Scenes of the off-plane spread's measurement (docs/accuracy-linear.md), where the residual ratio alone
            // chose the plain model under shading.
            ("dark + 2 bright (Magnetite ...), illumination 0.3-1, 40 dB, seed 42", dark, 0.3, 42, 40),
            ("darkest + 2 bright (Kerogen BK-Cornell, Alunite GDS84, Kaolinite CM9), no shading, seed 21", kerogen, 1, 21, 30),
        ];
        var rows = new List<Scene>();
        foreach (var (label, names, light, seed, snr) in synthetic)
        {
            var cube = Path.Combine(work, $"brightness-{seed}.tif");
            var r = Common.Run("dotnet", Common.Cli, "synth", "-o", cube, "--library", lib, "--library-names", names, "-p", "3", "--snr", snr.ToString(CultureInfo.InvariantCulture),
                "--seed", seed.ToString(CultureInfo.InvariantCulture), "--illumination", light.ToString(CultureInfo.InvariantCulture), "--overwrite");
            if (!File.Exists(cube)) throw new InvalidOperationException($"synth failed: {r.Output}");
            var stem = Path.ChangeExtension(cube, null);
            rows.Add(new Scene(label, cube, stem + "_abundances.tif", stem + "_endmembers.csv", 3, "", 0, 0));
        }
        var sample = Path.Combine(Common.RepoRoot(), "sample-rasters");
        rows.Add(new Scene("sample scene (LMM, 50 dB)", $"{sample}/scene.tif", $"{sample}/scene_abundances.tif", $"{sample}/scene_endmembers.csv", 4, "", 0, 0));
        rows.AddRange(real);
        md.AppendLine("## The brightness test's decision on each scene");
        md.AppendLine();
        md.AppendLine("The default run (`-p P`, seed 42) decides between the plain model (sum-to-one) and the scaled model (shading): " +
                      "where HySime counts no more signal dimensions than P, from the pixels' spread off the sum-to-one plane in units of the noise " +
                      "(above 2.0: scaled), elsewhere from the ratio of the two models' residuals on its sample (above 2.0: scaled); the " +
                      "`spread` column is empty where the ratio decided. The other columns rerun it with the choice forced " +
                      "(`--normalize scale`, `--normalize none`) and FCLS with the default run's endmembers. aRMSE x100, endmembers matched on " +
                      "abundances; SAD of the default run in degrees. Synthetic scenes: `hyperunmix synth --library usgs_1995_library_aviris224.csv " +
                      "--library-names ... -p 3 --snr 30`; the USGS 1995 library holds no water, so the dark material is Magnetite HS78.3B " +
                      "(mean reflectance 0.047, water's level). Goal (issue 19): the default within 5% of the better of FCLS and the scaled model. " +
                      "The last three columns are the deep step's own decision (docs/methods.md, nonlinearity test) and its result against its linear start " +
                      "(issue 19, item 2: never worse).");
        md.AppendLine();
        md.AppendLine("| scene | spread | ratio | decision | default (auto) | scaled | plain (`none`) | FCLS | within 5% of the better of FCLS and scaled | SAD | nonlinearity test: network | linear start (FCLS, same endmembers and brightness model) | deep step |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var s in rows)
        {
            var key = "brightness-" + new string(s.Name.Where(char.IsLetterOrDigit).Take(24).ToArray());
            string Out(string tag) => Path.Combine(work, $"{key}-{tag}.tif");
            var p = s.P.ToString(CultureInfo.InvariantCulture);
            Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", Out("auto"), "-p", p, "--overwrite", .. s.Args]);
            Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", Out("scaled"), "-p", p, "--normalize", "scale", "--overwrite", .. s.Args]);
            Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", Out("plain"), "-p", p, "--normalize", "none", "--overwrite", .. s.Args]);
            var endmembers = Path.ChangeExtension(Out("auto"), null) + ".endmembers.csv";
            Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", Out("fcls"), "-e", endmembers, "--method", "fcls", "--overwrite", .. s.Args]);
            using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(Out("auto"), ".report.json")));
            var br = report.RootElement.GetProperty("brightness");
            var decided = br.GetProperty("model").GetString() == "linear" ? "none" : "scale";
            // The linear start: FCLS with the same endmembers and brightness model (for the plain model, the run above).
            if (decided != "none")
                Common.Run("dotnet", [Common.Cli, "unmix", s.Cube, "-o", Out("start"), "-e", endmembers, "--method", "fcls", "--normalize", decided, "--overwrite", .. s.Args]);
            var nl = report.RootElement.GetProperty("deep_model").GetProperty("nonlinearity");
            var network = string.Create(CultureInfo.InvariantCulture,
                $"{(nl.GetProperty("network_kept").GetBoolean() ? "kept" : "not kept")} ({nl.GetProperty("held_out_error").GetDouble() / nl.GetProperty("linear_remix_error").GetDouble():F3}x a linear re-mix, z = {nl.GetProperty("z").GetDouble():F1})");
            double Armse(string tag)
            {
                var est = EndmemberFiles.Load(Path.ChangeExtension(Out(tag), null) + ".endmembers.csv");
                return Evaluation.Score(Out(tag), s.Abundances, s.Endmembers, est, matchBy: MatchBy.Abundance).AbundanceRmse * 100;
            }
            var sad = Evaluation.Score(Out("auto"), s.Abundances, s.Endmembers, EndmemberFiles.Load(endmembers), matchBy: MatchBy.Abundance).MeanSadDegrees;
            double auto = Armse("auto"), scaled = Armse("scaled"), plain = Armse("plain"), fcls = Armse("fcls"), start = decided == "none" ? fcls : Armse("start");
            var better = Math.Min(scaled, fcls);
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Name} | {(br.GetProperty("off_plane_spread").ValueKind == System.Text.Json.JsonValueKind.Number ? br.GetProperty("off_plane_spread").GetDouble().ToString("F2", CultureInfo.InvariantCulture) : "")} | {br.GetProperty("residual_ratio").GetDouble():F2} | {br.GetProperty("model").GetString()}{(br.GetProperty("uncertain").GetBoolean() ? " (uncertain)" : "")} | **{auto:F2}** | {scaled:F2} | {plain:F2} | {fcls:F2} | {(auto <= better * 1.05 ? "yes" : "no")} ({auto / better:F2}x) | {sad:F2} | {network} | {start:F2} | {auto / start:F3}x |"));
        }
        md.AppendLine();
    }

    private static string Row(Scene s, string label, string output, double seconds)
    {
        var est = EndmemberFiles.Load(Path.ChangeExtension(output, null) + ".endmembers.csv");
        var byA = Evaluation.Score(output, s.Abundances, s.Endmembers, est, matchBy: MatchBy.Abundance);
        var byS = Evaluation.Score(output, s.Abundances, s.Endmembers, est);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {s.Name} | {label} | {byA.MeanSadDegrees:F2} | {byA.AbundanceRmse * 100:F2} | {byS.MeanSadDegrees:F2} | {byS.AbundanceRmse * 100:F2} | {seconds:F2} |");
    }

    private static EndmemberSet ReadOtbEndmembers(string path, int bands)
    {
        using var src = RasterSource.Open(path);
        var p = src.Info.Width * src.Info.Height;
        var buf = new float[src.Info.BandCount * p];
        src.Read(src.Extent, src.AllBands, buf, new byte[p]);
        var e = new double[bands * p];
        for (var b = 0; b < bands; b++)
            for (var j = 0; j < p; j++) e[b * p + j] = buf[b * p + j];
        return new EndmemberSet(e, bands, p);
    }
}
