namespace HyperUnmix.Geo.Unmixing.Mesma;

/// <summary>How a library is pruned to the spectra that best represent their class.</summary>
internal enum PruneCriterion
{
    /// <summary>Endmember Average RMSE (Dennison &amp; Roberts 2003): the mean RMSE with which a spectrum models the others of its class (one spectrum plus shade); lowest first.</summary>
    Ear,
    /// <summary>Minimum Average Spectral Angle (Dennison et al. 2004): the mean angle to the others of its class; lowest first.</summary>
    Masa,
    /// <summary>Count-based (Roberts et al. 2003): how many others of its class it models within the constraints, minus how many of other classes; highest first.</summary>
    Cob,
}

/// <summary>Scores each library spectrum against its class and keeps the best per class.</summary>
internal static class LibraryPruning
{
    /// <summary>
    /// Each spectrum's score under <paramref name="criterion"/> (lower is better for EAR and MASA; CoB is negated so
    /// that lower is better for all three). A class of one spectrum scores 0.
    /// </summary>
    public static double[] Scores(double[][] spectra, int[] classOf, PruneCriterion criterion, MesmaSettings? settings = null)
    {
        settings ??= new MesmaSettings();
        var n = spectra.Length;
        var L = spectra[0].Length;
        var scores = new double[n];
        for (var i = 0; i < n; i++)
        {
            double sum = 0;
            var count = 0;
            var cob = 0;
            for (var j = 0; j < n; j++)
            {
                if (j == i) continue;
                var same = classOf[j] == classOf[i];
                if (criterion != PruneCriterion.Cob && !same) continue;
                var (f, rmse) = TwoEndmember(spectra[i], spectra[j], settings);
                switch (criterion)
                {
                    case PruneCriterion.Ear:
                        sum += rmse;
                        count++;
                        break;
                    case PruneCriterion.Masa:
                        sum += Angle(spectra[i], spectra[j]);
                        count++;
                        break;
                    default:
                        var fits = f >= settings.MinFraction && f <= settings.MaxFraction && 1 - f >= settings.MinShade && 1 - f <= settings.MaxShade && rmse <= settings.MaxRmse;
                        if (fits) cob += same ? 1 : -1;
                        break;
                }
            }
            scores[i] = criterion == PruneCriterion.Cob ? -cob : count == 0 ? 0 : sum / count;
        }
        return scores;
    }

    /// <summary>The <paramref name="perClass"/> best spectra of each class (indices, in library order).</summary>
    public static int[] Select(double[][] spectra, int[] classOf, PruneCriterion criterion, int perClass, MesmaSettings? settings = null)
    {
        if (perClass < 1) throw new MesmaException($"keep at least one spectrum per class, got {perClass}");
        var scores = Scores(spectra, classOf, criterion, settings);
        return Enumerable.Range(0, spectra.Length).GroupBy(i => classOf[i])
            .SelectMany(g => g.OrderBy(i => scores[i]).ThenBy(i => i).Take(perClass))
            .Order().ToArray();
    }

    /// <summary>
    /// Spectrum <paramref name="target"/> modelled by <paramref name="model"/> and shade: the least-squares fraction,
    /// clamped to the fraction constraints and to 1 − the shade limits (EAR's constrained two-endmember model), and the RMSE.
    /// </summary>
    public static (double Fraction, double Rmse) TwoEndmember(double[] model, double[] target, MesmaSettings settings)
    {
        double ee = 0, et = 0;
        for (var l = 0; l < model.Length; l++) { ee += model[l] * model[l]; et += model[l] * target[l]; }
        var f = ee > 0 ? et / ee : 0;
        var lo = Math.Max(settings.MinFraction, 1 - settings.MaxShade);
        var hi = Math.Min(settings.MaxFraction, 1 - settings.MinShade);
        f = Math.Clamp(f, lo, hi);
        double sse = 0;
        for (var l = 0; l < model.Length; l++) { var r = target[l] - f * model[l]; sse += r * r; }
        return (f, Math.Sqrt(sse / model.Length));
    }

    private static double Angle(double[] a, double[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (var l = 0; l < a.Length; l++) { ab += a[l] * b[l]; aa += a[l] * a[l]; bb += b[l] * b[l]; }
        return Math.Acos(Math.Clamp(ab / Math.Sqrt(aa * bb), -1, 1));
    }
}
