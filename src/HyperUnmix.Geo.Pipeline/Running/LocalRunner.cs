using System.Collections.Concurrent;
using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// The single-machine runner: plan the scene, then unmix its tiles in parallel with <see cref="TileProcessor"/> (one
/// workspace per worker, sized to the memory budget) into a <see cref="SceneWriter"/>; the outputs appear only when
/// complete.
/// </summary>
internal static class LocalRunner
{
    public static UnmixResult Run(UnmixOptions o, ProgressHandler? progress, CancellationToken cancel)
    {
        ScenePlanner.Validate(o);
        var clock = new StageClock();
        progress?.Invoke("open", 0);

        var (opened, bands, roi, area) = ScenePlanner.OpenScene(o, cancel);
        using var source = opened;
        // Everything this run will write, checked and reserved before any work: none of it is an input, nothing is
        // replaced without --overwrite, and the whole set appears at the end or not at all.
        using var outputSet = SceneWriter.Reserve(o, source, o.Outputs.Overwrite);
        clock.Lap("open");

        var prepared = ScenePlanner.Prepare(o, source, bands, roi, area, progress, clock, cancel);
        var plan = prepared.Plan;
        var workers = ScenePlanner.PlanMemory(o, plan.Bands.Length, plan.Endmembers.Count).Workers;
        var unmixer = UnmixMethods.CreateUnmixer(plan, prepared.Artifacts, cancel);
        using var processor = new TileProcessor(plan, source, roi, unmixer, ownsSource: false);
        var grid = processor.Grid;

        var done = 0;
        using (var writer = new SceneWriter(outputSet, plan, source.Info))
        {
            try
            {
                // Parallel.For may start more tasks than workers over the run, each with its own local state: the
                // workspaces (a tile of input each) are pooled so that no more than one per worker is ever allocated.
                var pool = new ConcurrentBag<TileProcessor.Workspace>();
                Parallel.For(0, grid.Count, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel },
                    () => pool.TryTake(out var ws) ? ws : processor.CreateWorkspace(),
                    (index, _, ws) =>
                    {
                        var n = processor.Process(index, ws);
                        writer.Write(ws.Window, ws.Output, n);
                        var k = Interlocked.Increment(ref done);
                        var start = prepared.Fit is null ? 0.05 : 0.55;
                        progress?.Invoke("unmix", start + (0.95 - start) * k / grid.Count);
                        return ws;
                    },
                    pool.Add);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
            {
                throw e.InnerExceptions[0];
            }
            cancel.ThrowIfCancellationRequested();
            progress?.Invoke("write", 0.96);
            writer.CompleteRaster();
            clock.Lap("unmix");
            var result = writer.Finish(source.ReadPath, workers, prepared.Fit, clock, cancel);
            progress?.Invoke("done", 1);
            return result;
        }
    }
}
