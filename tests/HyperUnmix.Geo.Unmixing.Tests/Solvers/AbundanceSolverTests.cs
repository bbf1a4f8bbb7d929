using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Solvers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Unmixing.Tests.Solvers;

public class AbundanceSolverTests
{
    internal static EndmemberSet Materials(int p, int bands = 120) =>
        EndmemberSet.FromSpectra(SyntheticSpectra.Create(p, SyntheticSpectra.Wavelengths(bands)), SyntheticSpectra.Materials.Take(p).ToArray());

    private static (float[] A, float[] R) Solve(AbundanceSolver s, SyntheticScene scene, byte[]? valid = null)
    {
        var n = scene.Pixels;
        var a = new float[s.Endmembers.Count * n];
        var r = new float[n];
        valid ??= Enumerable.Repeat((byte)1, n).ToArray();
        s.SolveTile(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = valid, Abundances = a, Residual = r, NoData = -9999f }, new TileScratch());
        return (a, r);
    }

    [Fact]
    public void Fcls_NoiselessLmmWithTrueEndmembers_ReturnsTrueAbundances()
    {
        var e = Materials(5);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 30, Height = 30, SnrDb = double.PositiveInfinity, Seed = 3 });
        var (a, r) = Solve(new AbundanceSolver(e, LinearMethod.Fcls), scene);
        for (var i = 0; i < a.Length; i++) Assert.Equal(scene.Abundances[i], a[i], 1e-5);
        Assert.All(r, v => Assert.True(v < 1e-5));
    }

    [Fact]
    public void Ucls_And_Scls_MatchTheirClosedForms()
    {
        var e = Materials(4);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 10, Height = 10, SnrDb = 25, Seed = 5 });
        var (u, _) = Solve(new AbundanceSolver(e, LinearMethod.Ucls), scene);
        var (s, _) = Solve(new AbundanceSolver(e, LinearMethod.Scls), scene);
        var em = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(e.Bands, e.Count, (i, j) => e.E[i * e.Count + j]);
        var n = scene.Pixels;
        for (var px = 0; px < n; px++)
        {
            var y = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(e.Bands, i => scene.Cube[i * n + px]);
            var ls = em.Solve(y); // QR least squares
            for (var j = 0; j < e.Count; j++) Assert.Equal(ls[j], u[j * n + px], 2e-3);
            // SCLS: sums to one and the residual gradient is constant across endmembers (Lagrange condition).
            Assert.Equal(1.0, Enumerable.Range(0, e.Count).Sum(j => (double)s[j * n + px]), 1e-5);
            var a = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(e.Count, j => s[j * n + px]);
            var grad = em.TransposeThisAndMultiply(em * a - y);
            Assert.True(grad.Max() - grad.Min() < 1e-4, $"pixel {px}: gradient spread {grad.Max() - grad.Min()}");
        }
    }

    /// <summary>
    /// The band-sequential tile turned into spectra: the eight-by-eight blocks transposed in registers and the edges
    /// left to the plain loop (bands and pixels that are not multiples of eight, a chunk that starts inside the tile)
    /// give every sample at its place.
    /// </summary>
    [Theory]
    [InlineData(224, 64, 0)]
    [InlineData(61, 64, 3)]
    [InlineData(61, 13, 40)]
    [InlineData(7, 64, 5)]
    [InlineData(16, 5, 0)]
    public void ToSpectra_PutsEverySampleAtItsPlace(int l, int m, int start)
    {
        const int n = 120;
        var y = new float[l * n];
        for (var i = 0; i < y.Length; i++) y[i] = i * 0.5f + 1;
        var chunk = new float[m * l + 3];
        chunk.AsSpan().Fill(float.NaN);
        AbundanceSolver.ToSpectra(y, n, start, m, l, chunk);
        for (var k = 0; k < m; k++)
            for (var b = 0; b < l; b++) Assert.Equal(y[b * n + start + k], chunk[k * l + b]);
        // Nothing written past the m spectra.
        Assert.All(chunk.AsSpan(m * l).ToArray(), v => Assert.True(float.IsNaN(v)));
    }

    [Trait("Category", "Determinism")]
    [Theory]
    [InlineData(LinearMethod.Fcls)]
    [InlineData(LinearMethod.Nnls)]
    public void SolveTile_SplitIntoTiles_GivesIdenticalResults(LinearMethod method)
    {
        var e = Materials(5);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 37, Height = 23, SnrDb = 20, Seed = 8 });
        // The default back-end, as the pipeline uses it (OpenBLAS's results may change with the size of the call).
        var solver = new AbundanceSolver(e, method);
        var (whole, wholeR) = Solve(solver, scene);
        int n = scene.Pixels, l = e.Bands, p = e.Count;
        var scratch = new TileScratch();
        foreach (var chunk in new[] { 1, 7, 64, 300 })
        {
            for (var start = 0; start < n; start += chunk)
            {
                var m = Math.Min(chunk, n - start);
                var y = new float[l * m];
                for (var b = 0; b < l; b++) Array.Copy(scene.Cube, b * n + start, y, b * m, m);
                var a = new float[p * m];
                var r = new float[m];
                solver.SolveTile(new TileBuffers { Y = y, Pixels = m, Valid = Enumerable.Repeat((byte)1, m).ToArray(), Abundances = a, Residual = r, NoData = -1 }, scratch);
                for (var j = 0; j < p; j++)
                    for (var k = 0; k < m; k++) Assert.Equal(whole[j * n + start + k], a[j * m + k]);
                for (var k = 0; k < m; k++) Assert.Equal(wholeR[start + k], r[k]);
            }
        }
    }

    /// <summary>
    /// The residual comes from ‖y‖² − ‖Qᵀy‖² + ‖Qᵀy − Rx‖², never from a reconstruction: it must equal ‖y − E x‖ formed
    /// directly (x = the abundances times the pixel's scale where the method models one), for every method and scale.
    /// </summary>
    [Theory]
    [InlineData(LinearMethod.Ucls, PixelScale.None)]
    [InlineData(LinearMethod.Scls, PixelScale.None)]
    [InlineData(LinearMethod.Nnls, PixelScale.None)]
    [InlineData(LinearMethod.Fcls, PixelScale.None)]
    [InlineData(LinearMethod.Fcls, PixelScale.Scale)]
    [InlineData(LinearMethod.Fcls, PixelScale.L2)]
    public void Residual_IsTheRmsOfTheDirectReconstructionError(LinearMethod method, PixelScale scale)
    {
        var e = Materials(5, 97);
        if (scale == PixelScale.L2) e = e.UnitLength();
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 20, Height = 10, SnrDb = 15, Seed = 11, IlluminationMin = 0.4 });
        int n = scene.Pixels, l = e.Bands, p = e.Count;
        var a = new float[p * n];
        var r = new float[n];
        var s = new float[n];
        new AbundanceSolver(e, method, scale).SolveTile(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = Enumerable.Repeat((byte)1, n).ToArray(), Abundances = a, Residual = r, NoData = -1, Scales = s }, new TileScratch());
        for (var px = 0; px < n; px++)
        {
            double sum = 0;
            for (var band = 0; band < l; band++)
            {
                double fit = 0;
                for (var j = 0; j < p; j++) fit += e.E[band * p + j] * a[j * n + px] * (scale == PixelScale.None ? 1 : s[px]);
                var d = scene.Cube[band * n + px] - fit;
                sum += d * d;
            }
            var expected = Math.Sqrt(sum / l);
            // The abundances were rounded to float before the direct check: compare to that rounding.
            Assert.True(Math.Abs(expected - r[px]) <= 1e-5 * (1 + expected), $"pixel {px}: residual {r[px]}, directly {expected}");
        }
    }

    /// <summary>
    /// FCLS and NNLS take a closed form when every abundance is positive and the active set otherwise: on a scene
    /// with both kinds of pixels, every pixel must satisfy the KKT conditions, checked from y and E directly
    /// (gradient g = Eᵀ(Ea − y): equal to the multiplier ν on the support, at least ν off it; ν = 0 for NNLS).
    /// </summary>
    [Theory]
    [InlineData(LinearMethod.Fcls)]
    [InlineData(LinearMethod.Nnls)]
    public void FclsAndNnls_InteriorAndBoundaryPixels_SatisfyKkt(LinearMethod method)
    {
        var e = Materials(5, 80);
        // Sparse patches put many pixels on the boundary (abundances at zero), noise moves others inside.
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 30, Height = 30, SnrDb = 25, Seed = 12, Spatial = true });
        int n = scene.Pixels, l = e.Bands, p = e.Count;
        var (a, _) = Solve(new AbundanceSolver(e, method), scene);
        var gMax = e.Gram.Max(Math.Abs);
        int interior = 0, boundary = 0;
        for (var px = 0; px < n; px++)
        {
            var g = new double[p];
            for (var band = 0; band < l; band++)
            {
                double fit = 0;
                for (var j = 0; j < p; j++) fit += e.E[band * p + j] * a[j * n + px];
                var d = fit - scene.Cube[band * n + px];
                for (var j = 0; j < p; j++) g[j] += e.E[band * p + j] * d;
            }
            var support = Enumerable.Range(0, p).Where(j => a[j * n + px] > 0).ToArray();
            Assert.NotEmpty(support);
            if (support.Length == p) interior++; else boundary++;
            var nu = method == LinearMethod.Fcls ? support.Average(j => g[j]) : 0;
            var tol = 1e-4 * gMax;
            foreach (var j in support) Assert.True(Math.Abs(g[j] - nu) <= tol, $"pixel {px}: gradient {g[j]} on the support, multiplier {nu}");
            for (var j = 0; j < p; j++)
            {
                Assert.True(a[j * n + px] >= 0);
                if (a[j * n + px] == 0) Assert.True(g[j] >= nu - tol, $"pixel {px}: endmember {j} held at zero with gradient {g[j]} < {nu}");
            }
        }
        Assert.True(interior > 20 && boundary > 20, $"{interior} interior, {boundary} boundary pixels: the scene must exercise both paths");
    }

    /// <summary>Band-sequential tiles are solved through the pixel-interleaved path: both give the same bits.</summary>
    [Fact]
    public void SolvePixels_GivesTheBitsOfSolveTile()
    {
        var e = Materials(4, 61);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 13, Height = 11, SnrDb = 20, Seed = 4 });
        int n = scene.Pixels, l = e.Bands, p = e.Count;
        var solver = new AbundanceSolver(e, LinearMethod.Fcls);
        var valid = Enumerable.Range(0, n).Select(i => (byte)(i % 7 == 3 ? 0 : 1)).ToArray();
        var (a1, r1) = (new float[p * n], new float[n]);
        solver.SolveTile(new TileBuffers { Y = scene.Cube, Pixels = n, Valid = valid, Abundances = a1, Residual = r1, NoData = -1 }, new TileScratch());
        var spectra = new float[n * l];
        for (var band = 0; band < l; band++)
            for (var k = 0; k < n; k++) spectra[k * l + band] = scene.Cube[band * n + k];
        var (a2, r2) = (new float[p * n], new float[n]);
        // A scratch used before with more bands: its padding must not leak into the sums.
        var used = new TileScratch();
        new AbundanceSolver(Materials(4, 120), LinearMethod.Fcls).SolvePixels(new TileBuffers { Y = new float[120], Pixels = 1, Valid = [1], Abundances = new float[4], Residual = new float[1], NoData = -1, Stride = 1 }, used);
        solver.SolvePixels(new TileBuffers { Y = spectra, Pixels = n, Valid = valid, Abundances = a2, Residual = r2, NoData = -1, Stride = n }, used);
        Assert.Equal(a1, a2);
        Assert.Equal(r1, r2);
    }

    /// <summary>
    /// Pixels of every magnitude a float can hold, as in byte-swapped data read with --nan-as-nodata: random bit
    /// patterns (denormals to 3e38, both signs) and scaled spectra. FCLS stays on the simplex; no method emits
    /// Inf or NaN for finite input.
    /// </summary>
    [Theory]
    [InlineData(LinearMethod.Fcls)]
    [InlineData(LinearMethod.Nnls)]
    [InlineData(LinearMethod.Ucls)]
    [InlineData(LinearMethod.Scls)]
    public void SolveTile_ExtremeMagnitudes_KeepConstraintsAndStayFinite(LinearMethod method)
    {
        var e = Materials(4, 30);
        int l = e.Bands, p = e.Count, n = 600;
        var rng = new Random(7);
        var y = new float[l * n];
        double[] magnitudes = [1e-30, 1e-10, 1, 1e30, 1e36, 3e38];
        for (var px = 0; px < n; px++)
        {
            var magnitude = magnitudes[px % magnitudes.Length];
            for (var b = 0; b < l; b++)
            {
                float v;
                if (px % 2 == 0)
                    do v = BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue)); while (!float.IsFinite(v));
                else
                    v = (float)(magnitude * (e.E[b * p + px % p] + 0.1 * rng.NextDouble()));
                y[b * n + px] = v;
            }
        }
        var a = new float[p * n];
        var r = new float[n];
        new AbundanceSolver(e, method).SolveTile(new TileBuffers { Y = y, Pixels = n, Valid = Enumerable.Repeat((byte)1, n).ToArray(), Abundances = a, Residual = r, NoData = -9999f }, new TileScratch());
        Assert.All(a, v => Assert.True(float.IsFinite(v), $"{method}: non-finite abundance"));
        Assert.All(r, v => Assert.True(float.IsFinite(v) && v >= 0, $"{method}: residual {v}"));
        if (method != LinearMethod.Fcls) return;
        for (var px = 0; px < n; px++)
        {
            double sum = 0;
            for (var j = 0; j < p; j++)
            {
                Assert.True(a[j * n + px] >= 0, $"pixel {px}: abundance {a[j * n + px]}");
                sum += a[j * n + px];
            }
            Assert.True(Math.Abs(sum - 1) <= 1e-6, $"pixel {px}: abundances sum to {sum}");
        }
    }

    [Fact]
    public void SolveTile_MaskedPixels_GetNoDataAndOthersAreUnchanged()
    {
        var e = Materials(3);
        var scene = SceneGenerator.Generate(e, new SceneOptions { Width = 8, Height = 8, Seed = 2 });
        var solver = new AbundanceSolver(e, LinearMethod.Fcls);
        var valid = Enumerable.Range(0, 64).Select(i => (byte)(i % 3 == 0 ? 0 : 1)).ToArray();
        var (all, _) = Solve(solver, scene);
        var (masked, r) = Solve(solver, scene, valid);
        for (var px = 0; px < 64; px++)
            for (var j = 0; j < 3; j++)
                Assert.Equal(valid[px] == 0 ? -9999f : all[j * 64 + px], masked[j * 64 + px]);
        Assert.Equal(-9999f, r[0]);
    }

    [Fact]
    public void EndmemberSet_MoreEndmembersThanBands_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new EndmemberSet(new double[12], 3, 4));
        Assert.Contains("band count", ex.Message);
    }

    [Fact]
    public void EndmemberSet_DuplicateSpectra_IsRefusedAsLinearlyDependent()
    {
        var s = SyntheticSpectra.Create(2, SyntheticSpectra.Wavelengths(50));
        var ex = Assert.Throws<ArgumentException>(() => EndmemberSet.FromSpectra([s[0], s[1], s[0]]));
        Assert.Contains("linearly dependent", ex.Message);
    }
}
