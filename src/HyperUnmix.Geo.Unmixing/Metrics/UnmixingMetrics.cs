namespace HyperUnmix.Geo.Unmixing.Metrics;

/// <summary>How estimated endmembers were paired with the reference ones.</summary>
public enum MatchBy
{
    /// <summary>Hungarian assignment minimising the total spectral angle.</summary>
    Sad,
    /// <summary>Hungarian assignment minimising the total abundance-map RMSE (HySUPP's convention).</summary>
    Abundance,
}

/// <summary>Accuracy of an unmixing against ground truth, after matching.</summary>
public sealed record UnmixingScore
{
    /// <summary>For each reference endmember, the index of the estimated one matched to it.</summary>
    public required int[] Match { get; init; }
    /// <summary>Per reference endmember, radians (NaN when no spectra were compared).</summary>
    public required double[] SadRadians { get; init; }
    /// <summary>The mean of <see cref="SadRadians"/> (NaN when any is NaN).</summary>
    public double MeanSadRadians => SadRadians.Average();
    /// <summary><see cref="MeanSadRadians"/> in degrees.</summary>
    public double MeanSadDegrees => MeanSadRadians * 180 / Math.PI;
    /// <summary>Per reference endmember abundance RMSE (NaN when no abundances were compared).</summary>
    public required double[] AbundanceRmsePer { get; init; }
    /// <summary>sqrt(mean((A − Aref)²)) over all P x N entries; HySUPP's aRMSE is 100 times this.</summary>
    public required double AbundanceRmse { get; init; }
}

/// <summary>Spectral angle, RMSEs and endmember matching, with the literature's conventions.</summary>
public static class UnmixingMetrics
{
    /// <summary>Spectral angle distance arccos(e·ê / (|e||ê|)) in radians.</summary>
    public static double Sad(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"spectra differ in length ({a.Length} vs {b.Length})");
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        if (aa == 0 || bb == 0) return Math.PI / 2;
        return Math.Acos(Math.Clamp(ab / Math.Sqrt(aa * bb), -1, 1));
    }

    /// <summary>sqrt(mean((a − b)²)).</summary>
    public static double Rmse(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"arrays differ in length ({a.Length} vs {b.Length})");
        double s = 0;
        for (var i = 0; i < a.Length; i++) { var d = a[i] - b[i]; s += d * d; }
        return Math.Sqrt(s / Math.Max(a.Length, 1));
    }

    /// <summary>
    /// Scores estimated endmembers (spectra, may be null) and abundance maps (P x N rows, may be null) against the
    /// reference, matched by the Hungarian method on <paramref name="matchBy"/>.
    /// </summary>
    public static UnmixingScore Score(IReadOnlyList<double[]>? estimatedSpectra, IReadOnlyList<double[]>? referenceSpectra,
        IReadOnlyList<double[]>? estimatedAbundances, IReadOnlyList<double[]>? referenceAbundances, MatchBy matchBy = MatchBy.Sad)
    {
        var haveSpectra = estimatedSpectra is not null && referenceSpectra is not null;
        var haveAbund = estimatedAbundances is not null && referenceAbundances is not null;
        if (!haveSpectra && !haveAbund) throw new ArgumentException("nothing to compare: give spectra or abundances for both sides");
        if (matchBy == MatchBy.Abundance && !haveAbund) matchBy = MatchBy.Sad;
        if (matchBy == MatchBy.Sad && !haveSpectra) matchBy = MatchBy.Abundance;
        var refCount = (referenceSpectra ?? referenceAbundances)!.Count;
        var estCount = (estimatedSpectra ?? estimatedAbundances)!.Count;
        var cost = new double[refCount, estCount];
        for (var r = 0; r < refCount; r++)
            for (var e = 0; e < estCount; e++)
                cost[r, e] = matchBy == MatchBy.Sad
                    ? Sad(referenceSpectra![r], estimatedSpectra![e])
                    : Rmse(referenceAbundances![r], estimatedAbundances![e]);
        var match = Hungarian.Solve(cost);
        var sad = new double[refCount];
        var per = new double[refCount];
        double sq = 0;
        long count = 0;
        for (var r = 0; r < refCount; r++)
        {
            var e = match[r];
            sad[r] = haveSpectra && e >= 0 ? Sad(referenceSpectra![r], estimatedSpectra![e]) : double.NaN;
            if (haveAbund)
            {
                var refMap = referenceAbundances![r];
                var est = e >= 0 ? estimatedAbundances![e] : new double[refMap.Length];
                per[r] = Rmse(refMap, est);
                sq += per[r] * per[r] * refMap.Length;
                count += refMap.Length;
            }
            else per[r] = double.NaN;
        }
        return new UnmixingScore
        {
            Match = match,
            SadRadians = sad,
            AbundanceRmsePer = per,
            AbundanceRmse = haveAbund ? Math.Sqrt(sq / count) : double.NaN,
        };
    }
}
