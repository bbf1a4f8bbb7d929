using System.Diagnostics;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>Seconds per stage, lap by lap, into one dictionary (a plan's, so that the report has them all).</summary>
internal sealed class StageClock(Dictionary<string, double>? stages = null)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    public Dictionary<string, double> Stages { get; } = stages ?? [];

    public void Lap(string stage)
    {
        Stages[stage] = Math.Round(_clock.Elapsed.TotalSeconds, 3);
        _clock.Restart();
    }
}
