using HyperUnmix.Geo.Unmixing.LinearAlgebra;
using HyperUnmix.Geo.Unmixing.Metrics;

namespace HyperUnmix.Geo.Unmixing.Tests.Metrics;

public class MetricsTests
{
    [Fact]
    public void Sad_ScaledCopyIsZero_OrthogonalIsHalfPi()
    {
        Assert.Equal(0, UnmixingMetrics.Sad([1, 2, 3], [2, 4, 6]), 1e-7);
        Assert.Equal(Math.PI / 2, UnmixingMetrics.Sad([1, 0], [0, 5]), 1e-12);
        Assert.Equal(Math.PI / 4, UnmixingMetrics.Sad([1, 0], [1, 1]), 1e-12);
    }

    [Fact]
    public void Hungarian_RandomSquareAndRectangular_MatchesBruteForce()
    {
        var rng = new Rng(4);
        for (var trial = 0; trial < 100; trial++)
        {
            int rows = 1 + trial % 6, cols = rows + trial % 2;
            var cost = new double[rows, cols];
            for (var i = 0; i < rows; i++)
                for (var j = 0; j < cols; j++) cost[i, j] = rng.NextDouble();
            var m = Hungarian.Solve(cost);
            Assert.Equal(rows, m.Distinct().Count());
            var total = Enumerable.Range(0, rows).Sum(i => cost[i, m[i]]);
            Assert.Equal(BestTotal(cost, rows, cols, 0, new bool[cols]), total, 1e-12);
        }
    }

    private static double BestTotal(double[,] c, int rows, int cols, int row, bool[] used)
    {
        if (row == rows) return 0;
        var best = double.PositiveInfinity;
        for (var j = 0; j < cols; j++)
        {
            if (used[j]) continue;
            used[j] = true;
            best = Math.Min(best, c[row, j] + BestTotal(c, rows, cols, row + 1, used));
            used[j] = false;
        }
        return best;
    }

    [Fact]
    public void Score_PermutedEstimate_IsMatchedBack()
    {
        double[][] refs = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
        double[][] est = [[0, 0, 2], [3, 0.1, 0], [0, 1, 0]];
        double[][] aref = [[1, 0], [0, 1], [0, 0]];
        double[][] aest = [[0, 0], [1, 0], [0, 1]];
        var s = UnmixingMetrics.Score(est, refs, aest, aref);
        Assert.Equal([1, 2, 0], s.Match);
        Assert.Equal(0, s.AbundanceRmse, 1e-12);
        Assert.True(s.SadRadians[0] > 0.03 && s.SadRadians[0] < 0.04);
        var byAbundance = UnmixingMetrics.Score(est, refs, aest, aref, MatchBy.Abundance);
        Assert.Equal([1, 2, 0], byAbundance.Match);
    }
}
