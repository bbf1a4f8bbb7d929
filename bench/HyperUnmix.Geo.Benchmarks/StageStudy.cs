using System.Globalization;
using System.Text;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Extraction;
using HyperUnmix.Geo.Unmixing.Metrics;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Benchmarks;

/// <summary>
/// The endmember and abundance stages on synthetic scenes with ground truth that the real scenes cannot give: per-pixel
/// illumination with a dark endmember (water), and nonlinear mixing (Fan, GBM, PPNM, MLM) without illumination. Every
/// combination of extraction (VCA, N-FINDR, + refinement) and abundance step (FCLS as is, unit-length pixels, the
/// scaled model), and the abundance steps with the true endmembers. Scored with abundance-based matching.
/// Writes docs/accuracy-synthetic.md.
/// </summary>
internal static class StageStudy
{
    public static void Run(Args a)
    {
        var root = Common.RepoRoot();
        var outDoc = Path.Combine(root, a.Str("out", "docs/accuracy-synthetic.md"));
        var seeds = a.Int("seeds", 3);
        var wl = SyntheticSpectra.Wavelengths(198);
        var e = EndmemberSet.FromSpectra(SyntheticSpectra.Create(4, wl), SyntheticSpectra.Materials.Take(4).ToArray(), wl);
        (string Name, SceneOptions Options)[] scenes =
        [
            ("LMM, illumination 0.3-1", new SceneOptions { Model = MixingModel.Lmm, IlluminationMin = 0.3 }),
            ("Fan, illumination 0.3-1", new SceneOptions { Model = MixingModel.Fan, IlluminationMin = 0.3 }),
            ("LMM", new SceneOptions { Model = MixingModel.Lmm }),
            ("Fan", new SceneOptions { Model = MixingModel.Fan }),
            ("GBM", new SceneOptions { Model = MixingModel.Gbm }),
            ("PPNM", new SceneOptions { Model = MixingModel.Ppnm }),
            ("MLM", new SceneOptions { Model = MixingModel.Mlm }),
        ];
        string[] columns = ["VCA + FCLS", "N-FINDR + FCLS", "N-FINDR + refine + FCLS", "N-FINDR + refine + l2", "N-FINDR + refine + scale",
            "true E + FCLS", "true E + l2", "true E + scale"];
        var md = new StringBuilder();
        md.AppendLine("# Stages on synthetic scenes");
        md.AppendLine();
        md.AppendLine("Produced by `dotnet run -c Release --project bench/HyperUnmix.Geo.Benchmarks -- stages` on " +
                      $"{DateTime.UtcNow:yyyy-MM-dd}. 100 x 100 pixels, 198 bands, P = 4 built-in spectra (vegetation, soil, water — dark —, asphalt), " +
                      $"spatial patches, one pure pixel per material, 30 dB; mean over {seeds} seeds. aRMSE x100 with abundance-based matching " +
                      "(SAD in degrees in brackets). `l2`: FCLS on unit-length pixels with unit-length endmembers; `scale`: the scaled model " +
                      "y = s E a (NNLS, then a = b / sum b) with the endmembers at their own scale. The refinement is applied unconditionally here.");
        md.AppendLine();
        md.AppendLine("| scene | " + string.Join(" | ", columns) + " |");
        md.AppendLine("|---|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var (name, options) in scenes)
        {
            var sums = new double[columns.Length];
            var sads = new double[columns.Length];
            for (var seed = 1; seed <= seeds; seed++)
            {
                var s = SceneGenerator.Generate(e, options with { Width = 100, Height = 100, Spatial = true, SnrDb = 30, Seed = seed });
                var y = s.CubeAsDouble();
                int l = s.Bands, n = s.Pixels;
                var vca = Vca.Extract(y, l, n, 4, seed);
                var nf = NFindr.Refine(y, l, n, vca.PixelIndices);
                var aa = ArchetypalRefinement.Refine(y, l, n, nf.PixelIndices, new ArchetypalOptions { Subspace = 24, Iterations = 100, CheckEvery = 4 });
                var runs = new (double[] E, LinearMethod Method, PixelScale Scale)[]
                {
                    (vca.Endmembers, LinearMethod.Fcls, PixelScale.None), (nf.Endmembers, LinearMethod.Fcls, PixelScale.None),
                    (aa.Endmembers, LinearMethod.Fcls, PixelScale.None), (aa.Endmembers, LinearMethod.Fcls, PixelScale.L2),
                    (aa.Endmembers, LinearMethod.Fcls, PixelScale.Scale), (e.E, LinearMethod.Fcls, PixelScale.None),
                    (e.E, LinearMethod.Fcls, PixelScale.L2), (e.E, LinearMethod.Fcls, PixelScale.Scale),
                };
                for (var k = 0; k < runs.Length; k++)
                {
                    var set = new EndmemberSet(runs[k].E, l, 4);
                    if (runs[k].Scale == PixelScale.L2) set = set.UnitLength();
                    var ab = new float[4 * n];
                    new AbundanceSolver(set, runs[k].Method, scale: runs[k].Scale).SolveTile(new TileBuffers { Y = s.Cube, Pixels = n, Valid = Enumerable.Repeat((byte)1, n).ToArray(), Abundances = ab, Residual = new float[n] }, new TileScratch());
                    var score = UnmixingMetrics.Score(Enumerable.Range(0, 4).Select(set.Spectrum).ToList(), Enumerable.Range(0, 4).Select(e.Spectrum).ToList(),
                        Enumerable.Range(0, 4).Select(j => Enumerable.Range(0, n).Select(i => (double)ab[j * n + i]).ToArray()).ToList(),
                        Enumerable.Range(0, 4).Select(s.AbundanceMap).ToList(), MatchBy.Abundance);
                    sums[k] += score.AbundanceRmse * 100 / seeds;
                    sads[k] += score.MeanSadDegrees / seeds;
                }
            }
            md.AppendLine($"| {name} | " + string.Join(" | ", sums.Select((v, k) => string.Create(CultureInfo.InvariantCulture, $"{v:F2} ({sads[k]:F1})"))) + " |");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(outDoc)!);
        File.WriteAllText(outDoc, md.ToString());
        Console.Write(md.ToString());
    }
}
