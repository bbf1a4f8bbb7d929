namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>
/// Same inputs, same bytes, under every OpenBLAS kernel this CPU can run (OpenBLAS picks kernels per CPU, and a test
/// suite that passed on one machine failed on another). Each child process gets its own OPENBLAS_CORETYPE.
/// </summary>
public sealed class KernelDeterminismTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    /// <summary>OpenBLAS kernels (OPENBLAS_CORETYPE names) whose instructions this CPU has: forcing one it lacks would crash.</summary>
    public static IReadOnlyList<string> Kernels()
    {
        var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ').ToHashSet() ?? [];
        var kernels = new List<string>();
        if (flags.Contains("pni")) kernels.Add("Prescott");                                       // SSE3
        if (flags.Contains("avx2") && flags.Contains("fma")) kernels.AddRange(["Haswell", "Zen"]);  // AVX2 + FMA
        if (flags.Contains("avx512f") && flags.Contains("avx512bw") && flags.Contains("avx512vl") && flags.Contains("avx512dq")) kernels.Add("SkylakeX");
        return kernels;
    }

    [Fact]
    public void Runs_AreByteIdentical_AcrossOpenBlasKernels_TilesAndThreads()
    {
        var kernels = Kernels();
        Assert.True(kernels.Count >= 2, $"this CPU runs only {string.Join(", ", kernels)}: the check needs two kernels");
        // Bigger than one 256-pixel tile, so tiles and threads really split the scene.
        Assert.Equal(0, _cli.Run("synth", "-o", _cli.Path("s.tif"), "--width", "300", "--height", "300", "--bands", "48", "--model", "ppnm", "--spatial").Code);
        var (c0, _, e0) = _cli.Run("unmix", _cli.Path("s.tif"), "-o", _cli.Path("fit.tif"), "-p", "4");
        Assert.True(c0 == 0, e0);

        string? applied = null, linear = null;
        foreach (var k in kernels)
        {
            var env = new Dictionary<string, string> { ["OPENBLAS_CORETYPE"] = k };
            string Run(string name, params string[] args)
            {
                var (code, stdout, err) = _cli.RunWith(env, ["unmix", _cli.Path("s.tif"), "-o", _cli.Path($"{k}-{name}.tif"), .. args]);
                Assert.True(code == 0, $"{k} {name}: {err}");
                Assert.Contains($" {k} ", stdout);   // the kernel really in use, as OpenBLAS reports it
                return CliRunner.PixelHash(_cli.Path($"{k}-{name}.tif"));
            }
            // The whole deep run (fit and apply): any tile size and thread count, same bytes.
            var deep1 = Run("mtl-64-1", "-p", "4", "--tile", "64", "--threads", "1");
            var deep2 = Run("mtl-256-2", "-p", "4", "--tile", "256", "--threads", "2");
            Assert.True(deep1 == deep2, $"{k}: mtl differs between --tile 64 --threads 1 and --tile 256 --threads 2");
            // What is computed per pixel does not depend on the kernel at all: a model applied, FCLS with given endmembers.
            var a = Run("apply", "--model", _cli.Path("fit.model.json"), "--tile", "96", "--threads", "2");
            var f = Run("fcls", "--method", "fcls", "-e", _cli.Path("fit.endmembers.csv"), "--tile", "64", "--threads", "2");
            Assert.True((applied ??= a) == a, $"the model applied under {k} differs from {kernels[0]}");
            Assert.True((linear ??= f) == f, $"FCLS under {k} differs from {kernels[0]}");
        }
    }

    /// <summary>
    /// The linear methods' per-pixel sums are written as explicit 4-lane double vectors with separate multiplies and
    /// adds. The same bytes must come out whatever vector instructions the JIT may use: AVX-512, AVX without FMA,
    /// and no AVX at all (256-bit vectors then run in software), on scenes split into other tiles and threads.
    /// </summary>
    [Fact]
    public void LinearMethods_AreByteIdentical_AcrossJitInstructionSets()
    {
        Assert.Equal(0, _cli.Run("synth", "-o", _cli.Path("j.tif"), "--width", "300", "--height", "200", "--bands", "61", "-p", "4", "--model", "ppnm", "--spatial").Code);
        (string Name, Dictionary<string, string> Env)[] jits =
        [
            ("default", new()),
            ("no-avx512", new() { ["DOTNET_EnableAVX512F"] = "0" }),
            // .NET 10 groups FMA with AVX2 (x86-64-v3): this leaves AVX without FMA.
            ("avx-without-fma", new() { ["DOTNET_EnableAVX2"] = "0" }),
            ("no-avx", new() { ["DOTNET_EnableAVX"] = "0" }),
        ];
        (string Name, string[] Args)[] methods =
        [
            ("fcls", ["--method", "fcls"]),
            ("nnls", ["--method", "nnls"]),
            ("ucls", ["--method", "ucls"]),
            ("fcls-scale", ["--method", "fcls", "--normalize", "scale"]),
        ];
        var first = new Dictionary<string, string>();
        for (var i = 0; i < jits.Length; i++)
        {
            var (jit, env) = jits[i];
            foreach (var (method, args) in methods)
            {
                var output = _cli.Path($"{jit}-{method}.tif");
                string[] tiling = i % 2 == 0 ? ["--tile", "64", "--threads", "1"] : ["--tile", "256", "--threads", "2"];
                var (code, _, err) = _cli.RunWith(env, ["unmix", _cli.Path("j.tif"), "-o", output, "-e", _cli.Path("j_endmembers.csv"), .. args, .. tiling]);
                Assert.True(code == 0, $"{jit} {method}: {err}");
                var hash = CliRunner.PixelHash(output);
                Assert.True((first.TryAdd(method, hash) ? hash : first[method]) == hash, $"{method} under {jit} differs from the default JIT's bytes");
            }
        }
    }
}
