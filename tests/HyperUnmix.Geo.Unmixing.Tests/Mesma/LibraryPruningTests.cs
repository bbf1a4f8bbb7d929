using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Unmixing.Tests.Mesma;

public sealed class LibraryPruningTests
{
    /// <summary>
    /// Class 0: a centre spectrum, four variants placed symmetrically around it (±5% ripples), and an outlier (another
    /// material); class 1: two other materials. The centre represents its class best, the outlier worst.
    /// </summary>
    private static (double[][] Spectra, int[] ClassOf) Library()
    {
        var wl = Enumerable.Range(0, 120).Select(i => 400 + 18.0 * i).ToArray();
        double[] Shape(Func<double, double> f) => wl.Select(f).ToArray();
        var centre = Shape(w => 0.2 + 0.25 / (1 + Math.Exp(-(w - 720) / 25)));
        var ripple1 = Shape(w => Math.Sin(w / 97));
        var ripple2 = Shape(w => Math.Cos(w / 53));
        double[] Vary(double[] r, double s) => centre.Select((v, l) => v * (1 + s * 0.05 * r[l])).ToArray();
        var outlier = Shape(w => 0.5 - 0.0001 * (w - 400));
        return ([centre, Vary(ripple1, 1), Vary(ripple1, -1), Vary(ripple2, 1), Vary(ripple2, -1), outlier,
                 Shape(w => 0.05 + 0.00002 * w), Shape(w => 0.3 + 0.05 * Math.Sin(w / 300))], [0, 0, 0, 0, 0, 0, 1, 1]);
    }

    [Theory]
    [InlineData(nameof(PruneCriterion.Ear))]
    [InlineData(nameof(PruneCriterion.Masa))]
    public void TheCentreRanksFirst_AndTheOutlierLast(string criterionName)
    {
        var criterion = Enum.Parse<PruneCriterion>(criterionName);
        var (spectra, classOf) = Library();
        var scores = LibraryPruning.Scores(spectra, classOf, criterion);
        var order = Enumerable.Range(0, 6).OrderBy(i => scores[i]).ToArray();
        Assert.Equal(0, order[0]);
        Assert.Equal(5, order[^1]);
        // One per class: the centre and one of class 1; two per class: class 1 keeps both.
        var one = LibraryPruning.Select(spectra, classOf, criterion, 1);
        Assert.Equal(2, one.Length);
        Assert.Equal(0, one[0]);
        Assert.Equal([6, 7], LibraryPruning.Select(spectra, classOf, criterion, 2)[2..]);
    }

    [Fact]
    public void Ear_IsTheMeanRmseOfTheConstrainedOneSpectrumPlusShadeFits()
    {
        var (spectra, classOf) = Library();
        var st = new MesmaSettings();
        var ear = LibraryPruning.Scores(spectra, classOf, PruneCriterion.Ear, st);
        // Independently: the fraction minimising ‖t − f m‖ over the allowed interval [0.2, 1.0] (shade 0-0.8, fractions
        // -0.05-1.05) by a fine scan, then its RMSE.
        for (var i = 0; i < 6; i++)
        {
            var rmses = new List<double>();
            for (var j = 0; j < 6; j++)
            {
                if (j == i) continue;
                var best = double.PositiveInfinity;
                for (var f = 0.2; f <= 1.0 + 1e-12; f += 1e-5)
                    best = Math.Min(best, Math.Sqrt(spectra[j].Select((t, l) => (t - f * spectra[i][l]) * (t - f * spectra[i][l])).Sum() / spectra[j].Length));
                rmses.Add(best);
            }
            Assert.Equal(rmses.Average(), ear[i], 1e-6);
        }
    }

    [Fact]
    public void Cob_CountsTheClassModelledWithinTheConstraints_MinusOtherClasses()
    {
        var (spectra, classOf) = Library();
        var scores = LibraryPruning.Scores(spectra, classOf, PruneCriterion.Cob);
        // Independently: spectrum j counts for i when some fraction in [0.2, 1.0] (a fine scan) models it within 0.025 RMSE.
        for (var i = 0; i < spectra.Length; i++)
        {
            var cob = 0;
            for (var j = 0; j < spectra.Length; j++)
            {
                if (j == i) continue;
                var fits = false;
                for (var f = 0.2; f <= 1.0 + 1e-12 && !fits; f += 1e-4)
                    fits = Math.Sqrt(spectra[j].Select((t, l) => (t - f * spectra[i][l]) * (t - f * spectra[i][l])).Sum() / spectra[j].Length) <= 0.025;
                if (fits) cob += classOf[j] == classOf[i] ? 1 : -1;
            }
            Assert.Equal(-cob, scores[i]);
        }
        // The centre models at least three of its variants.
        Assert.True(scores[0] <= -3, $"centre's CoB {-scores[0]}");
        Assert.Equal(2, LibraryPruning.Select(spectra, classOf, PruneCriterion.Cob, 1).Length);
        Assert.Throws<MesmaException>(() => LibraryPruning.Select(spectra, classOf, PruneCriterion.Cob, 0));
    }
}
