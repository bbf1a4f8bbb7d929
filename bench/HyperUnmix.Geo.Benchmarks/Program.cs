using HyperUnmix.Geo.Benchmarks;

// Benchmarks print figures and ratios measured in the same run; they never assert time.
//   read      [--size 1000] [--bands 224]   tile reading: ours vs GDAL's generic RasterIO, per layout
//   unmix     [--size 1000] [--bands 224] [--memory MB] [--no-otb] [--quick]   scene FCLS/UCLS end to end vs OTB UCLS and our I/O floor
//   accuracy  [--datasets ../shared/datasets] [--out docs/accuracy-linear.md]   Samson / Jasper Ridge stage by stage, vs OTB and the best deep peer
//   stages    [--seeds 3] [--out docs/accuracy-synthetic.md]   the stages on synthetic scenes (illumination, dark endmember, nonlinear mixing)
//   deep      [--datasets ../shared/datasets] [--seeds 5] [--out docs/accuracy-deep.md]   the deep method's evaluation
//   deep-speed [--apply-pixels 1000000]      fit time and GFLOP/s vs the sgemm peak; apply pixels/s
//   apply-kernel [--pixels 32768] [--p 5]    the deep apply kernel alone, one thread, vs FCLS and the sgemm peak
//   cluster   [--scenes 20] [--size 256] [--workers 3] [--method fcls,mtl] [--pin true]   the cluster mode on loopback: N workers vs 1 vs the local runner
//   coordinator [--scenes 10000] [--tiles 16] [--loops 400] [--seconds 30]   one job's coordinator at archive scale: completions/s, Redis per completion
//   mesma     [--size 1000] [--bands 200] [--per-class 20] [--brute-pixels 400]   Gram MESMA vs brute-force least squares; time per pixel vs models
var command = args.FirstOrDefault() ?? "help";
var options = Args.Parse(args.Skip(1));
switch (command)
{
    case "read": ReadBenchmark.Run(options); break;
    case "unmix": UnmixBenchmark.Run(options); break;
    case "accuracy": AccuracyBenchmark.Run(options); break;
    case "stages": StageStudy.Run(options); break;
    case "deep": DeepBenchmark.Accuracy(options); break;
    case "deep-speed": DeepBenchmark.Speed(options); break;
    case "apply-kernel": DeepBenchmark.ApplyKernel(options); break;
    case "apply-shapes": DeepBenchmark.Shapes(options); break;
    case "cluster": ClusterBenchmark.Run(options); break;
    case "local-runner": ClusterBenchmark.LocalRunner(options); break; // the pinned child of "cluster --pin true"
    case "mesma": MesmaBenchmark.Run(options); break;
    case "coordinator": CoordinatorBenchmark.Run(options); break;
    default:
        Console.WriteLine("usage: dotnet run -c Release --project bench/HyperUnmix.Geo.Benchmarks -- read|unmix|accuracy|stages|deep|deep-speed|cluster|mesma [--size N] [--bands L] [--data DIR]");
        break;
}

namespace HyperUnmix.Geo.Benchmarks
{
    internal sealed class Args(Dictionary<string, string> values)
    {
        public static Args Parse(IEnumerable<string> args)
        {
            var d = new Dictionary<string, string>();
            string? key = null;
            foreach (var a in args)
            {
                if (a.StartsWith("--", StringComparison.Ordinal)) { key = a[2..]; d[key] = "true"; }
                else if (key is not null) { d[key] = a; key = null; }
            }
            return new Args(d);
        }

        public int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
        public string Str(string key, string fallback) => values.GetValueOrDefault(key, fallback);
    }
}
