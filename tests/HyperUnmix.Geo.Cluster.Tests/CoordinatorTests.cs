using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace HyperUnmix.Geo.Cluster.Tests;

/// <summary>
/// The coordinator's record of progress on a real Redis: a field per scene written by group commit, fenced by the
/// activation's number. A job's coordinator runs in an in-process silo, driven by concurrent work loops that report
/// made-up results (no pixels), as `bench coordinator` does at archive scale.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class CoordinatorTests
{
    /// <summary>Redis' processed commands and input bytes so far.</summary>
    private static (long Commands, long Bytes) RedisStats(LocalCluster c)
    {
        var output = Processes.Tool("redis-cli", "-p", c.RedisPort.ToString(), "info", "stats");
        long Value(string key) => output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(key + ":", StringComparison.Ordinal))
            .Select(l => long.Parse(l[(key.Length + 1)..])).Single();
        return (Value("total_commands_processed"), Value("total_net_input_bytes"));
    }

    [Fact]
    public async Task ConcurrentCompletions_ShareWrites_EachWritingOnlyItsScene_AndAllIsRecorded()
    {
        const int scenes = 2000, tiles = 2, loops = 64;
        using var c = new LocalCluster(secret: false);
        var cluster = new ClusterAddress(c.Redis, c.Name);
        using var host = Host.CreateDefaultBuilder()
            .UseOrleans(s => ClusterSetup.ConfigureSilo(s, cluster, IPAddress.Loopback, 0, 0))
            .ConfigureLogging(l => ClusterSetup.ConfigureLogging(l, verbose: false))
            .Build();
        await host.StartAsync();
        var job = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>("many");
        var silo = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var outDir = Path.Combine(c.Dir, "out");
        await job.Submit(new JobSpec
        {
            Name = "many",
            OutDir = outDir,
            SceneOptions = Enumerable.Range(0, scenes).Select(i => $$"""{"Scene":{"Input":"/in/{{i}}.tif"},"Outputs":{"Output":"{{outDir}}/{{i}}_abundances.tif"} }""").ToArray(),
        });
        var before = RedisStats(c);
        long completions = 0;
        await Task.WhenAll(Enumerable.Range(0, loops).Select(l => Task.Run(async () =>
        {
            var worker = $"m{l % 4}/{l % 4}/{l}";
            while (true)
            {
                var item = await job.Lease(worker, silo);
                if (item is null)
                {
                    if ((await job.Status()).Finished) return;
                    await Task.Delay(5);
                    continue;
                }
                await job.Complete(item, item.Kind == WorkKind.Plan
                    ? new WorkResult { Worker = worker, PlanFile = Path.Combine(item.StateDir, "plan.json"), Tiles = tiles }
                    : new WorkResult { Worker = worker });
                Interlocked.Increment(ref completions);
            }
        })));
        var after = RedisStats(c);
        var status = await job.Status();
        Assert.Equal("done", status.State);
        Assert.Equal((long)scenes * (tiles + 2), completions);
        Assert.All(status.Scenes, s => Assert.Equal(("done", tiles), (s.Phase, s.TilesDone)));
        // Group commit: fewer writes than completions (one each before). Per completion, what was written is its
        // scene's field and the counters, not the job: under 1 KB here, where the whole job's state was ~400 KB.
        var commands = after.Commands - before.Commands;
        var bytes = (after.Bytes - before.Bytes) / (double)completions;
        Assert.True(commands < completions, $"{commands} Redis commands for {completions} completions");
        Assert.True(bytes < 1000, $"{bytes:F0} bytes written to Redis per completion");
        // What is in Redis is the whole job: every scene assembled, every tile bit set.
        using var store = new ProgressStore(cluster);
        var (recorded, counters) = await store.Load("many");
        Assert.Equal(scenes, recorded.Count);
        Assert.All(recorded.Values, s => Assert.True(s.Assembled && s.DoneCount == tiles));
        Assert.Equal(completions, counters.Items);
        Assert.False(Directory.Exists(Path.Combine(outDir, ".hyperunmix", "many")), "the job's folder was left behind");
        await host.StopAsync();
    }

    [Fact]
    public async Task AStaleActivation_CannotWrite_OnceANewerOneFenced()
    {
        using var c = new LocalCluster(secret: false);
        using var store = new ProgressStore(new ClusterAddress(c.Redis, c.Name));
        await store.Create("j", 1);
        await store.Write("j", 1, [(0, new SceneState { PlanFile = "p", Tiles = 3, Done = [0b011] })], new JobCounters { Items = 3 });
        // Activation 2 proved itself current and fenced: activation 1's writes are refused and change nothing.
        await store.Fence("j", 2);
        await Assert.ThrowsAsync<StaleCoordinatorException>(() =>
            store.Write("j", 1, [(0, new SceneState { PlanFile = "p", Tiles = 3, Done = [0] })], new JobCounters { Items = 99 }));
        await store.Write("j", 2, [(1, new SceneState { Error = "bad" })], new JobCounters { Items = 4 });
        var (scenes, counters) = await store.Load("j");
        Assert.Equal(2, scenes[0].DoneCount);
        Assert.Equal("bad", scenes[1].Error);
        Assert.Equal(4, counters.Items);
        // A job created again under the name starts from nothing.
        await store.Create("j", 1);
        Assert.Empty((await store.Load("j")).Scenes);
    }
}
