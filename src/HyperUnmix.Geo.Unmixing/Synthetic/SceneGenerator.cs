using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Synthetic;

/// <summary>Mixing models for synthetic scenes (formulas in docs/method.md).</summary>
internal enum MixingModel
{
    /// <summary>y = E a.</summary>
    Lmm,
    /// <summary>Fan bilinear: y = E a + Σ_{i&lt;j} a_i a_j (e_i ⊙ e_j).</summary>
    Fan,
    /// <summary>Generalised bilinear: Fan with each cross term weighted by γ_ij ~ U[0, 1].</summary>
    Gbm,
    /// <summary>Polynomial post-nonlinear: y = E a + b (E a) ⊙ (E a), b ~ U[−0.3, 0.3].</summary>
    Ppnm,
    /// <summary>Multilinear mixing (Heylen &amp; Scheunders 2016): y = (1 − q) E a / (1 − q E a), q ~ U[0, qmax].</summary>
    Mlm,
}

/// <summary>How a synthetic scene is made.</summary>
internal sealed record SceneOptions
{
    public int Width { get; init; } = 64;
    public int Height { get; init; } = 64;
    public MixingModel Model { get; init; } = MixingModel.Lmm;
    /// <summary>SNR in dB, 10 log10(‖X‖² / ‖noise‖²); +∞ for no noise.</summary>
    public double SnrDb { get; init; } = 30;
    public long Seed { get; init; } = 1;
    /// <summary>Dirichlet concentration (1 = uniform on the simplex).</summary>
    public double DirichletAlpha { get; init; } = 1;
    /// <summary>Largest abundance allowed in a pixel (pure pixels excepted); null for no cap.</summary>
    public double? MaxPurity { get; init; }
    /// <summary>Smooth spatial patches instead of independent pixels.</summary>
    public bool Spatial { get; init; }
    /// <summary>Pure pixels per endmember, at random places.</summary>
    public int PurePixels { get; init; } = 1;
    public double PpnmB { get; init; } = 0.3;
    public double MlmQMax { get; init; } = 0.8;
    /// <summary>
    /// Per-pixel illumination (slope, shading, sun angle): each pixel's mixed spectrum is multiplied by a factor drawn
    /// uniformly in [IlluminationMin, 1] before noise; the abundances are unchanged. 1: no variation.
    /// </summary>
    public double IlluminationMin { get; init; } = 1;
    /// <summary>
    /// The last RareCount endmembers are rare materials (small man-made objects, outcrops): absent from the background
    /// mixture, each present only in 2 x 2 patches at abundance U[0.4, 1] (the rest of the pixel keeps its background
    /// composition), the patches covering <see cref="RareFraction"/> of the pixels; its pure pixels lie in its patches.
    /// </summary>
    public int RareCount { get; init; }
    /// <summary>Share of the scene's pixels each rare material's patches cover (at least one patch).</summary>
    public double RareFraction { get; init; } = 0.01;
}

/// <summary>A synthetic scene and its ground truth.</summary>
/// <param name="Cube">L x N band-sequential reflectance.</param>
/// <param name="Abundances">P x N band-sequential, each column on the simplex.</param>
internal sealed record SyntheticScene(float[] Cube, double[] Abundances, EndmemberSet Endmembers, int Width, int Height)
{
    public int Bands => Endmembers.Bands;
    public int Pixels => Width * Height;

    /// <summary>The cube as an L x N double matrix.</summary>
    public double[] CubeAsDouble() => Array.ConvertAll(Cube, v => (double)v);

    /// <summary>Abundance map of endmember j.</summary>
    public double[] AbundanceMap(int j) => Abundances.AsSpan(j * Pixels, Pixels).ToArray();
}

/// <summary>Makes synthetic scenes: Dirichlet or spatially smooth abundances, one of five mixing models, white noise.</summary>
internal static class SceneGenerator
{
    public static SyntheticScene Generate(EndmemberSet endmembers, SceneOptions o)
    {
        int l = endmembers.Bands, p = endmembers.Count, n = o.Width * o.Height;
        if (n < 1) throw new ArgumentException($"scene size {o.Width}x{o.Height} is empty");
        if (RareProblem(o, p) is { } problem) throw new ArgumentException(problem);
        var rng = new Rng(o.Seed);
        var a = new double[p * n];
        // The background mixes the first P - RareCount endmembers (all of them without rare materials).
        var background = p - o.RareCount;
        var col = new double[background];
        var fields = o.Spatial ? SmoothFields(rng, background, o.Width, o.Height) : null;
        for (var px = 0; px < n; px++)
        {
            if (fields is null) rng.NextDirichlet(o.DirichletAlpha, col);
            else Softmax(fields, px, n, col);
            if (o.MaxPurity is { } cap) Cap(col, cap);
            for (var j = 0; j < background; j++) a[j * n + px] = col[j];
        }
        if (o.RareCount == 0)
        {
            var pure = Math.Min(o.PurePixels * p, n);
            var used = new HashSet<int>();
            for (var k = 0; k < pure; k++)
            {
                int px;
                do px = rng.Next(n); while (!used.Add(px));
                SetPure(a, n, p, px, k % p);
            }
        }
        else PlaceRare(a, n, p, background, o, rng);
        var e = endmembers.E;
        var x = new double[l * n];
        var ea = new double[l];
        for (var px = 0; px < n; px++)
        {
            Array.Clear(ea);
            for (var i = 0; i < l; i++)
                for (var j = 0; j < p; j++) ea[i] += e[i * p + j] * a[j * n + px];
            switch (o.Model)
            {
                case MixingModel.Fan or MixingModel.Gbm:
                    for (var i = 0; i < p; i++)
                        for (var j = i + 1; j < p; j++)
                        {
                            var w = a[i * n + px] * a[j * n + px] * (o.Model == MixingModel.Gbm ? rng.NextDouble() : 1);
                            for (var b = 0; b < l; b++) ea[b] += w * e[b * p + i] * e[b * p + j];
                        }
                    break;
                case MixingModel.Ppnm:
                    var bcoef = (2 * rng.NextDouble() - 1) * o.PpnmB;
                    for (var b = 0; b < l; b++) ea[b] += bcoef * ea[b] * ea[b];
                    break;
                case MixingModel.Mlm:
                    var q = rng.NextDouble() * o.MlmQMax;
                    for (var b = 0; b < l; b++) ea[b] = (1 - q) * ea[b] / (1 - q * ea[b]);
                    break;
            }
            var shade = o.IlluminationMin < 1 ? o.IlluminationMin + (1 - o.IlluminationMin) * rng.NextDouble() : 1;
            for (var b = 0; b < l; b++) x[b * n + px] = shade * ea[b];
        }

        var cube = new float[l * n];
        var sigma = 0.0;
        if (double.IsFinite(o.SnrDb))
        {
            double power = 0;
            foreach (var v in x) power += v * v;
            sigma = Math.Sqrt(power / x.Length / Math.Pow(10, o.SnrDb / 10));
        }
        for (var i = 0; i < x.Length; i++) cube[i] = (float)(x[i] + (sigma > 0 ? sigma * rng.NextGaussian() : 0));
        return new SyntheticScene(cube, a, endmembers, o.Width, o.Height);
    }

    /// <summary>2 x 2 patches per rare material: <see cref="SceneOptions.RareFraction"/> of the pixels, at least one.</summary>
    private static int RarePatches(SceneOptions o) => Math.Max(1, (int)Math.Round(o.RareFraction * o.Width * o.Height / 4));

    /// <summary>Why the rare-material settings cannot make a scene of <paramref name="p"/> endmembers, or null.</summary>
    public static string? RareProblem(SceneOptions o, int p)
    {
        if (o.RareCount == 0) return null;
        if (o.RareCount < 0) return $"the number of rare materials must not be negative, got {o.RareCount}";
        if (o.RareCount >= p) return $"{o.RareCount} rare materials of {p} endmembers: at least one endmember must form the background";
        if (!(o.RareFraction is > 0 and <= 1)) return $"each rare material's share of the pixels must be in (0, 1], got {o.RareFraction}";
        var patches = RarePatches(o);
        return o.RareCount * patches > o.Width / 2 * (o.Height / 2)
            ? $"{o.RareCount} rare materials in {patches} 2 x 2 patches each do not fit a {o.Width} x {o.Height} scene"
            : null;
    }

    private static void SetPure(double[] a, int n, int p, int px, int material)
    {
        for (var j = 0; j < p; j++) a[j * n + px] = j == material ? 1 : 0;
    }

    /// <summary>
    /// The rare materials' 2 x 2 patches (on a grid of 2 x 2 cells, none shared), then the pure pixels: the background
    /// materials' at random pixels outside the patches, each rare material's at the first pixels of its patches.
    /// </summary>
    private static void PlaceRare(double[] a, int n, int p, int background, SceneOptions o, Rng rng)
    {
        var (cellsX, patches) = (o.Width / 2, RarePatches(o));
        var cells = new HashSet<int>();
        var inPatch = new bool[n];
        var patchPixels = new List<int>[o.RareCount];
        for (var r = 0; r < o.RareCount; r++)
        {
            patchPixels[r] = [];
            for (var k = 0; k < patches; k++)
            {
                int cell;
                do cell = rng.Next(cellsX * (o.Height / 2)); while (!cells.Add(cell));
                int x0 = cell % cellsX * 2, y0 = cell / cellsX * 2;
                foreach (var px in new[] { y0 * o.Width + x0, y0 * o.Width + x0 + 1, (y0 + 1) * o.Width + x0, (y0 + 1) * o.Width + x0 + 1 })
                {
                    var share = 0.4 + 0.6 * rng.NextDouble();
                    for (var j = 0; j < background; j++) a[j * n + px] *= 1 - share;
                    a[(background + r) * n + px] = share;
                    inPatch[px] = true;
                    patchPixels[r].Add(px);
                }
            }
        }
        var used = new HashSet<int>();
        for (var k = 0; k < o.PurePixels * background && used.Count < n - cells.Count * 4; k++)
        {
            int px;
            do px = rng.Next(n); while (inPatch[px] || !used.Add(px));
            SetPure(a, n, p, px, k % background);
        }
        for (var r = 0; r < o.RareCount; r++)
            foreach (var px in patchPixels[r].Take(o.PurePixels)) SetPure(a, n, p, px, background + r);
    }

    /// <summary>Shrinks a towards the simplex centre just enough that no entry exceeds the cap.</summary>
    private static void Cap(Span<double> a, double cap)
    {
        var p = a.Length;
        double max = 0;
        foreach (var v in a) max = Math.Max(max, v);
        if (max <= cap || cap * p <= 1) return;
        var t = (cap - 1.0 / p) / (max - 1.0 / p);
        for (var i = 0; i < p; i++) a[i] = t * a[i] + (1 - t) / p;
    }

    private static double[] SmoothFields(Rng rng, int p, int w, int h)
    {
        var f = new double[p * w * h];
        var blobs = Math.Max(3, w * h / 400);
        for (var j = 0; j < p; j++)
            for (var k = 0; k < blobs; k++)
            {
                double cx = rng.NextDouble() * w, cy = rng.NextDouble() * h, r = (0.08 + 0.15 * rng.NextDouble()) * Math.Max(w, h), amp = 2 + 3 * rng.NextDouble();
                for (var y = 0; y < h; y++)
                    for (var x = 0; x < w; x++)
                    {
                        double dx = x - cx, dy = y - cy;
                        f[j * w * h + y * w + x] += amp * Math.Exp(-(dx * dx + dy * dy) / (2 * r * r));
                    }
            }
        return f;
    }

    private static void Softmax(double[] fields, int px, int n, Span<double> a)
    {
        double max = double.NegativeInfinity, s = 0;
        for (var j = 0; j < a.Length; j++) max = Math.Max(max, fields[j * n + px]);
        for (var j = 0; j < a.Length; j++) s += a[j] = Math.Exp(fields[j * n + px] - max);
        for (var j = 0; j < a.Length; j++) a[j] /= s;
    }
}
