using System.Globalization;

namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>A problem with the MESMA set-up (classes, levels, model count): one line for the user.</summary>
public sealed class MesmaException(string message) : HyperUnmixException(message)
{
    /// <summary>Usage (exit code 2).</summary>
    public override ErrorKind Kind => ErrorKind.Usage;
}

/// <summary>MESMA's constraints and level rule; the defaults are VIPER Tools' (Roberts et al. 1998) but the level rule.</summary>
public sealed record MesmaSettings
{
    /// <summary>Numbers of library spectra per model (shade comes on top), each 1-4.</summary>
    public IReadOnlyList<int> Levels { get; init; } = [2, 3];
    /// <summary>The lowest fraction any library spectrum of a model may have; a model outside is rejected.</summary>
    public double MinFraction { get; init; } = -0.05;
    /// <summary>The highest fraction any library spectrum of a model may have; a model outside is rejected.</summary>
    public double MaxFraction { get; init; } = 1.05;
    /// <summary>The lowest shade fraction (1 − the sum of the library fractions) a model may have.</summary>
    public double MinShade { get; init; }
    /// <summary>The highest shade fraction (1 − the sum of the library fractions) a model may have.</summary>
    public double MaxShade { get; init; } = 0.8;
    /// <summary>The largest RMSE over the bands (reflectance) a model may have to be kept.</summary>
    public double MaxRmse { get; init; } = 0.025;
    /// <summary>
    /// A higher level replaces a lower one when its RMSE is lower by at least this much (reflectance). 0.0005: VIPER's
    /// 0.007 finds the true level on 69% of a 40 dB scene's pixels, 0.0005 on 99% (issue 18); see docs/methods.md.
    /// </summary>
    public double MinRmseGain { get; init; } = 0.0005;
    /// <summary>When set, the level rule is an F-test at this significance instead of <see cref="MinRmseGain"/>.</summary>
    public double? FTestAlpha { get; init; }
    /// <summary>Refuse set-ups with more models than this (the count is printed).</summary>
    public long MaxModels { get; init; } = 200_000;
    /// <summary>
    /// When set, each pixel's uncertainty: the spread of the class fractions over the valid models of the chosen level
    /// whose RMSE is within this much of the best one's (reflectance).
    /// </summary>
    public double? UncertaintyRmse { get; init; }
    /// <summary>Also write the fractions divided by their sum (shade-normalised).</summary>
    public bool ShadeNormalised { get; init; }
    /// <summary>
    /// Monte Carlo uncertainty (0: off): MESMA is run again this many times, each with a random subset of the library
    /// (<see cref="MonteCarloFraction"/> of each class's spectra), and each class fraction's standard deviation over
    /// the runs that modelled the pixel is written, as EMIT's fractional cover product reports it.
    /// </summary>
    public int MonteCarloRuns { get; init; }
    /// <summary>The share of each class's spectra in a Monte Carlo run (at least one spectrum per class).</summary>
    public double MonteCarloFraction { get; init; } = 0.5;
    /// <summary>The seed of the Monte Carlo draws: the same seed gives the same subsets, so the same bytes.</summary>
    public int MonteCarloSeed { get; init; } = 42;

    /// <summary>
    /// The library subsets of the Monte Carlo runs: for each run, the indices (ascending) of ⌈fraction · n_c⌉ spectra
    /// (at least one) of each class c, drawn without replacement; one generator seeded by <see cref="MonteCarloSeed"/>.
    /// </summary>
    public int[][] MonteCarloSubsets(IReadOnlyList<int> classOf, int classes)
    {
        var random = new Random(MonteCarloSeed);
        var members = Enumerable.Range(0, classes).Select(c => Enumerable.Range(0, classOf.Count).Where(i => classOf[i] == c).ToArray()).ToArray();
        var runs = new int[MonteCarloRuns][];
        for (var r = 0; r < runs.Length; r++)
        {
            var chosen = new List<int>();
            foreach (var m in members)
            {
                var pool = (int[])m.Clone();
                var take = Math.Max(1, (int)Math.Ceiling(MonteCarloFraction * pool.Length - 1e-9));
                for (var k = 0; k < take; k++)
                {
                    var j = k + random.Next(pool.Length - k);
                    (pool[k], pool[j]) = (pool[j], pool[k]);
                    chosen.Add(pool[k]);
                }
            }
            chosen.Sort();
            runs[r] = chosen.ToArray();
        }
        return runs;
    }
}

/// <summary>
/// Every MESMA model of a classed library: for each level k, every choice of k classes and one spectrum of each,
/// ordered by level, then class subset, then spectra (lexicographic). Each model's (E_Iᵀ E_I)⁻¹ is computed once
/// from the library's Gram matrix, so a pixel's fit of a model is a k x k product with the pixel's inner products.
/// Models whose spectra are linearly dependent are left out (counted in <see cref="Singular"/>).
/// </summary>
internal sealed class MesmaModels
{
    public const int MaxLevel = 4;

    /// <param name="spectra">Library spectra (S x L), reflectance on the scene's bands.</param>
    /// <param name="classOf">Each spectrum's class index into <paramref name="classNames"/>.</param>
    public MesmaModels(double[][] spectra, int[] classOf, string[] classNames, string[] spectrumNames, MesmaSettings settings)
    {
        if (spectra.Length == 0) throw new MesmaException("the library has no spectra");
        Spectra = spectra;
        ClassOf = classOf;
        ClassNames = classNames;
        SpectrumNames = spectrumNames;
        Settings = settings;
        S = spectra.Length;
        L = spectra[0].Length;
        var members = Enumerable.Range(0, classNames.Length).Select(c => Enumerable.Range(0, S).Where(i => classOf[i] == c).ToArray()).ToArray();
        for (var c = 0; c < classNames.Length; c++)
            if (members[c].Length == 0) throw new MesmaException($"class '{classNames[c]}' has no spectra");
        var levels = settings.Levels.Distinct().Order().ToArray();
        if (levels.Length == 0) throw new MesmaException("no levels given");
        foreach (var k in levels)
        {
            if (k is < 1 or > MaxLevel) throw new MesmaException($"level {k} is not 1-{MaxLevel} library spectra per model");
            if (k > classNames.Length) throw new MesmaException($"level {k} needs {k} classes, the library has {classNames.Length} ({string.Join(", ", classNames)})");
            if (k >= L) throw new MesmaException($"level {k} needs more than {k} bands, the scene has {L}");
        }
        Levels = levels;
        long count = 0;
        foreach (var k in levels)
            foreach (var subset in Subsets(classNames.Length, k)) count += subset.Aggregate(1L, (a, c) => a * members[c].Length);
        if (count > settings.MaxModels)
            throw new MesmaException(string.Create(CultureInfo.InvariantCulture,
                $"{count:N0} models for levels {string.Join(",", levels)} exceed the limit of {settings.MaxModels:N0}: prune the library, use fewer levels or raise {nameof(MesmaSettings)}.{nameof(MesmaSettings.MaxModels)}"));

        // The library's Gram matrix, E Eᵀ (S x S), in double, each element summed in ascending band order.
        Gram = new double[S * S];
        for (var i = 0; i < S; i++)
            for (var j = 0; j <= i; j++)
            {
                double s = 0;
                for (var l = 0; l < L; l++) s += spectra[i][l] * spectra[j][l];
                Gram[i * S + j] = Gram[j * S + i] = s;
            }

        var idx = new List<int>();
        var inv = new List<double>();
        var lvl = new List<int>();
        var starts = new List<int>();
        var chosen = new int[MaxLevel];
        var g = new double[MaxLevel * MaxLevel];
        var gi = new double[MaxLevel * MaxLevel];
        foreach (var k in levels)
        {
            starts.Add(lvl.Count);
            foreach (var subset in Subsets(classNames.Length, k))
            {
                // Every combination of one spectrum per class of the subset (odometer order).
                var pos = new int[k];
                while (true)
                {
                    for (var a = 0; a < k; a++) chosen[a] = members[subset[a]][pos[a]];
                    for (var a = 0; a < k; a++)
                        for (var b = 0; b < k; b++) g[a * k + b] = Gram[chosen[a] * S + chosen[b]];
                    if (Invert(g, gi, k))
                    {
                        for (var a = 0; a < MaxLevel; a++) idx.Add(a < k ? chosen[a] : 0);
                        for (var a = 0; a < MaxLevel * MaxLevel; a++) inv.Add(a < k * k ? gi[a] : 0);
                        lvl.Add(k);
                    }
                    else Singular++;
                    var d = k - 1;
                    while (d >= 0 && ++pos[d] == members[subset[d]].Length) pos[d--] = 0;
                    if (d < 0) break;
                }
            }
        }
        starts.Add(lvl.Count);
        Indices = idx.ToArray();
        Inverses = inv.ToArray();
        Level = lvl.ToArray();
        LevelStarts = starts.ToArray();
    }

    public double[][] Spectra { get; }
    public int[] ClassOf { get; }
    public string[] ClassNames { get; }
    public string[] SpectrumNames { get; }
    public MesmaSettings Settings { get; }
    /// <summary>Library spectra and bands.</summary>
    public int S { get; }
    public int L { get; }
    /// <summary>The levels in ascending order.</summary>
    public int[] Levels { get; }
    /// <summary>E Eᵀ, S x S row-major.</summary>
    public double[] Gram { get; }
    /// <summary>Model m's spectra at [4m, 4m + k).</summary>
    public int[] Indices { get; }
    /// <summary>Model m's (E_Iᵀ E_I)⁻¹, k x k row-major at [16m, 16m + k²).</summary>
    public double[] Inverses { get; }
    /// <summary>Model m's level (number of library spectra).</summary>
    public int[] Level { get; }
    /// <summary>Models of Levels[q] are [LevelStarts[q], LevelStarts[q + 1]).</summary>
    public int[] LevelStarts { get; }
    public int Count => Level.Length;
    /// <summary>Models left out because their spectra are linearly dependent.</summary>
    public int Singular { get; }

    public IEnumerable<int> Spectrum(int model) => Indices.Skip(4 * model).Take(Level[model]);

    /// <summary>The model table (CSV): model, level, then class and spectrum name per member.</summary>
    public string TableCsv()
    {
        var sb = new System.Text.StringBuilder("model,level");
        for (var a = 1; a <= Levels.Max(); a++) sb.Append(CultureInfo.InvariantCulture, $",class_{a},spectrum_{a}");
        sb.Append('\n');
        for (var m = 0; m < Count; m++)
        {
            sb.Append(m.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Level[m].ToString(CultureInfo.InvariantCulture));
            foreach (var i in Spectrum(m)) sb.Append(',').Append(Quote(ClassNames[ClassOf[i]])).Append(',').Append(Quote(SpectrumNames[i]));
            for (var a = Level[m]; a < Levels.Max(); a++) sb.Append(",,");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string Quote(string s) => Endmembers.EndmemberFiles.Quote(s);

    /// <summary>The k-subsets of 0..n-1 in lexicographic order.</summary>
    public static IEnumerable<int[]> Subsets(int n, int k)
    {
        var c = Enumerable.Range(0, k).ToArray();
        while (true)
        {
            yield return (int[])c.Clone();
            var i = k - 1;
            while (i >= 0 && c[i] == n - k + i) i--;
            if (i < 0) yield break;
            c[i]++;
            for (var j = i + 1; j < k; j++) c[j] = c[j - 1] + 1;
        }
    }

    /// <summary>Inverse of a symmetric positive definite k x k matrix by Gauss-Jordan; false when it is (numerically) singular.</summary>
    private static bool Invert(double[] g, double[] inv, int k)
    {
        var a = new double[k * 2 * k];
        double largest = 0;
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < k; j++) a[i * 2 * k + j] = g[i * k + j];
            a[i * 2 * k + k + i] = 1;
            largest = Math.Max(largest, g[i * k + i]);
        }
        for (var col = 0; col < k; col++)
        {
            var piv = col;
            for (var r = col + 1; r < k; r++) if (Math.Abs(a[r * 2 * k + col]) > Math.Abs(a[piv * 2 * k + col])) piv = r;
            // Relative to the largest diagonal: 1e-10 means a condition number of E_I beyond about 1e5.
            if (Math.Abs(a[piv * 2 * k + col]) <= 1e-10 * largest) return false;
            if (piv != col)
                for (var j = 0; j < 2 * k; j++) (a[col * 2 * k + j], a[piv * 2 * k + j]) = (a[piv * 2 * k + j], a[col * 2 * k + j]);
            var p = a[col * 2 * k + col];
            for (var j = 0; j < 2 * k; j++) a[col * 2 * k + j] /= p;
            for (var r = 0; r < k; r++)
            {
                if (r == col) continue;
                var f = a[r * 2 * k + col];
                if (f == 0) continue;
                for (var j = 0; j < 2 * k; j++) a[r * 2 * k + j] -= f * a[col * 2 * k + j];
            }
        }
        for (var i = 0; i < k; i++)
            for (var j = 0; j < k; j++) inv[i * k + j] = 0.5 * (a[i * 2 * k + k + j] + a[j * 2 * k + k + i]);
        return true;
    }
}
