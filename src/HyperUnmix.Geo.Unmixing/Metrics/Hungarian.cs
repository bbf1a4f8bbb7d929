namespace HyperUnmix.Geo.Unmixing.Metrics;

/// <summary>Minimum-cost assignment (Kuhn–Munkres with potentials, O(n³)) on a rectangular cost matrix.</summary>
internal static class Hungarian
{
    /// <summary>For each row, the column assigned to it (−1 when rows outnumber columns and the row is unassigned).</summary>
    public static int[] Solve(double[,] cost)
    {
        int rows = cost.GetLength(0), cols = cost.GetLength(1), n = Math.Max(rows, cols);
        var big = 0.0;
        foreach (var c in cost) big = Math.Max(big, Math.Abs(c));
        big = big * 10 + 1;
        double C(int i, int j) => i < rows && j < cols ? cost[i, j] : big;
        var u = new double[n + 1];
        var v = new double[n + 1];
        var match = new int[n + 1]; // match[column] = row, 1-based
        var way = new int[n + 1];
        for (var i = 1; i <= n; i++)
        {
            match[0] = i;
            var j0 = 0;
            var minv = Enumerable.Repeat(double.PositiveInfinity, n + 1).ToArray();
            var used = new bool[n + 1];
            do
            {
                used[j0] = true;
                int i0 = match[j0], j1 = 0;
                var delta = double.PositiveInfinity;
                for (var j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    var cur = C(i0 - 1, j - 1) - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (var j = 0; j <= n; j++)
                {
                    if (used[j]) { u[match[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (match[j0] != 0);
            do
            {
                var j1 = way[j0];
                match[j0] = match[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var result = Enumerable.Repeat(-1, rows).ToArray();
        for (var j = 1; j <= n; j++)
            if (match[j] - 1 < rows && j - 1 < cols && match[j] > 0) result[match[j] - 1] = j - 1;
        return result;
    }
}
