using System.Diagnostics;
using System.Net;
using System.Text.Json;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// A worker: an Orleans silo (it may host coordinators) plus <see cref="WorkerOptions.Threads"/> loops that pull
/// items from the jobs' coordinators and process them. Stopping it (SIGTERM, Ctrl+C) drains it: no new items are
/// taken, the ones in hand are finished and reported, then the silo leaves the cluster and hands its coordinators on.
/// </summary>
internal static class WorkerHost
{
    public static async Task<int> Run(WorkerOptions o, TextWriter output, CancellationToken drain)
    {
        ClusterSetup.CheckRedis(o.Cluster);
        // The work loops run their items on thread-pool threads, which the pool sizes to the CPUs this process may
        // use: a worker pinned to one core (taskset) had one, busy with a tile, and the silo's messages (another
        // worker's lease, report) waited for the pool to add a thread (coordinator calls 18-25 ms per item with two
        // pinned workers, 2 ms with one). The loops never occupy more than their own threads, and the silo gets its own.
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, o.Threads + Environment.ProcessorCount + 4), minIo);
        await TlsProbe.Check(o.Cluster, "worker", gateway: false, drain);
        if (o.Cluster.Secret is { } secret) await TlsProbe.WarmUp(secret, drain);
        var advertise = o.Advertise ?? ClusterSetup.AdvertiseAddress(o.Cluster.Redis);
        // Right after every worker died, the membership table still lists them as alive for a few seconds and a
        // joining silo fails to reach them: try again until they are stale (a minute at most).
        IHost host;
        for (var attempt = 1; ; attempt++)
        {
            host = Build(o, output, advertise);
            try
            {
                await host.StartAsync(drain);
                break;
            }
            catch (Orleans.Runtime.MembershipService.OrleansClusterConnectivityCheckFailedException e) when (!drain.IsCancellationRequested)
            {
                host.Dispose();
                if (attempt == 12) throw new ClusterException($"cannot join cluster {o.Cluster.Name}: {e.Message}", e);
                output.WriteLine("worker: some silos listed as alive do not answer (just killed?); joining again in 5 s");
                output.Flush();
                await Task.Delay(TimeSpan.FromSeconds(5), drain);
            }
        }
        var silo = host.Services.GetRequiredService<ILocalSiloDetails>();
        output.WriteLine($"worker ready: cluster {o.Cluster.Name}, silo {silo.SiloAddress}, gateway {silo.GatewayAddress}, {o.Threads} threads, pid {Environment.ProcessId}");
        output.Flush();
        try { await Task.Delay(Timeout.Infinite, drain); }
        catch (OperationCanceledException) { }
        output.WriteLine("worker draining: finishing the items in hand");
        output.Flush();
        await host.StopAsync(CancellationToken.None);
        var loop = host.Services.GetServices<IHostedService>().OfType<WorkLoop>().Single();
        output.WriteLine($"worker stopped: {loop.Processed} items processed");
        output.Flush();
        host.Dispose();
        return 0;
    }

    private static IHost Build(WorkerOptions o, TextWriter output, IPAddress advertise) =>
        Host.CreateDefaultBuilder()
            .UseOrleans(silo => ClusterSetup.ConfigureSilo(silo, o.Cluster, advertise, o.SiloPort, o.GatewayPort))
            .ConfigureLogging(l => ClusterSetup.ConfigureLogging(l, o.Verbose))
            .ConfigureServices(s =>
            {
                s.AddSingleton(o);
                s.AddSingleton(output);
                // Registered after the silo: stopped before it, so a draining worker can still report to coordinators.
                s.AddHostedService<WorkLoop>();
                s.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromMinutes(30));
            })
            .UseConsoleLifetime(c => c.SuppressStatusMessages = true)
            .Build();
}

/// <summary>The worker's loops: lease, process, report, repeat.</summary>
internal sealed class WorkLoop(WorkerOptions options, IGrainFactory grains, ILocalSiloDetails silo, TextWriter output, ILogger<WorkLoop> log) : BackgroundService
{
    /// <summary>Open scenes by plan file, shared by the loops.</summary>
    private readonly Dictionary<string, SharedProcessor> _processors = [];
    /// <summary>
    /// Scenes this worker planned, still open, by plan file: its tiles then read through the same open file, whose
    /// blocks the planning already decompressed (GDAL's block cache belongs to the open dataset). The coordinator
    /// hands a scene's tiles to the worker that planned it first (<see cref="JobGrain"/>). The oldest beyond
    /// <see cref="KeptPlans"/> are closed.
    /// </summary>
    private readonly List<(string PlanFile, RasterSource Source)> _planned = [];
    private int KeptPlans => Math.Max(2, options.Threads + 1);
    private readonly Lock _gate = new();
    private int _processed;
    public int Processed => _processed;

    /// <summary>Test hook: milliseconds each tile takes at least (HYPERUNMIX_TILE_DELAY_MS), to kill workers mid-run.</summary>
    private static readonly int TileDelayMs = int.TryParse(Environment.GetEnvironmentVariable("HYPERUNMIX_TILE_DELAY_MS"), out var d) ? d : 0;

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        // OpenBLAS keeps its default threads (unlike a local run's tile phase): tiles do not use it, and planning must
        // use it as a single-machine run does, whose endmembers depend on that thread count in the last bits.
        var loops = Enumerable.Range(0, Math.Max(1, options.Threads)).Select(i => Task.Run(() => Loop(i, stopping), CancellationToken.None)).ToArray();
        await Task.WhenAll(loops);
        lock (_gate)
        {
            foreach (var p in _processors.Values) p.Dispose();
            _processors.Clear();
            foreach (var (_, source) in _planned) source.Dispose();
            _planned.Clear();
        }
    }

    private async Task Loop(int index, CancellationToken stopping)
    {
        var worker = $"{Environment.MachineName}/{Environment.ProcessId}/{index}";
        var registry = grains.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry);
        var idle = 0;
        var callSeconds = 0.0;
        // The next item, handed out with the report of the previous one (same job), when there was one.
        WorkItem? next = null;
        // An item in hand is processed even when the worker is asked to stop: that is the drain.
        while (next is not null || !stopping.IsCancellationRequested)
        {
            var item = next;
            next = null;
            var call = Stopwatch.StartNew();
            try
            {
                if (item is null)
                    foreach (var job in await registry.Active())
                    {
                        item = await grains.GetGrain<IJobGrain>(job).Lease(worker, silo.SiloAddress);
                        if (item is not null) break;
                    }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                // A coordinator moving to another silo after a death: ask again shortly.
                log.LogInformation("lease failed ({Message}); retrying", e.Message);
            }
            if (item is null)
            {
                idle = Math.Min(idle + 1, 10);
                try { await Task.Delay(50 * idle, stopping); } catch (OperationCanceledException) { }
                continue;
            }
            idle = 0;
            callSeconds += call.Elapsed.TotalSeconds;
            var result = Process(item, worker) with { CallSeconds = callSeconds };
            call.Restart();
            next = await Report(item, result, stopping.IsCancellationRequested ? null : worker);
            callSeconds = call.Elapsed.TotalSeconds;
            Interlocked.Increment(ref _processed);
        }
    }

    private WorkResult Process(WorkItem item, string worker)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var result = item.Kind switch
            {
                WorkKind.Plan => Plan(item, worker),
                WorkKind.Tile => Tile(item, worker),
                _ => Assemble(item, worker),
            };
            log.LogInformation("{Item} done in {Seconds:F3} s", item, clock.Elapsed.TotalSeconds);
            return result with { Seconds = clock.Elapsed.TotalSeconds };
        }
        catch (Exception e) when (!Directory.Exists(TileStore.SceneDir(item.StateDir, item.Scene)))
        {
            // The scene was finished and its folder removed while this (duplicate) item ran.
            log.LogInformation("{Item}: scene already finished ({Message})", item, e.Message);
            return new WorkResult { Worker = worker, Duplicate = true, Seconds = clock.Elapsed.TotalSeconds };
        }
        catch (Exception e)
        {
            var why = e.Message.ReplaceLineEndings(" ");
            output.WriteLine($"error: {item}: {why}");
            output.Flush();
            return new WorkResult { Worker = worker, Error = why, Seconds = clock.Elapsed.TotalSeconds };
        }
    }

    /// <summary>
    /// A worker plans one scene at a time: planning already uses every core through OpenBLAS (whose threads spin
    /// while they wait), and two at once would oversubscribe them. Its other loops go on with tiles meanwhile.
    /// </summary>
    private static readonly Lock PlanGate = new();

    private WorkResult Plan(WorkItem item, string worker)
    {
        lock (PlanGate) return PlanLocked(item, worker);
    }

    /// <summary>A scene's options with this worker's threads (its loops) and memory budget: orders carry neither.</summary>
    private UnmixOptions OwnExecution(UnmixOptions o) => o with { Execution = o.Execution with { Threads = options.Threads, MemoryBytes = options.MemoryBytes } };

    private WorkResult PlanLocked(WorkItem item, string worker)
    {
        var planFile = TileStore.PlanFile(item.StateDir, item.Scene);
        if (SceneOrders.AsMesma(item.OptionsJson!) is { } mesma)
        {
            if (!File.Exists(planFile))
            {
                // A MESMA plan is one file (no model beside it): published first-writer-wins into the scene's folder
                // as the coordinator made it; a late duplicate's publish finds no folder and creates nothing.
                var (plan, source) = MesmaJob.PlanSceneKeepingSource(mesma with { Scene = OwnExecution(mesma.Scene) });
                if (TileStore.Publish(planFile, plan.ToJson()))
                {
                    KeepPlanned(planFile, source);
                    return new WorkResult { Worker = worker, PlanFile = planFile, Tiles = plan.Grid.Count };
                }
                source.Dispose();
            }
            return new WorkResult { Worker = worker, PlanFile = planFile, Tiles = MesmaPlan.Load(planFile).Grid.Count };
        }
        var o = OwnExecution(SceneOrders.AsUnmix(item.OptionsJson!));
        var sceneDir = TileStore.SceneDir(item.StateDir, item.Scene);
        if (!File.Exists(planFile))
        {
            // Each planner writes its model into its own folder: a second planner never touches the files a
            // published plan names. The plan itself is published first-writer-wins.
            var attempt = Path.Combine(sceneDir, $"plan-{Guid.NewGuid():N}");
            // Only inside the scene's folder as the coordinator made it: a late duplicate creates nothing (TileStore).
            if (!TileStore.TryCreateFolderIn(attempt)) return new WorkResult { Worker = worker, Duplicate = true };
            var (plan, source) = UnmixJob.PlanSceneKeepingSource(o, attempt);
            if (TileStore.Publish(planFile, plan.ToJson())) KeepPlanned(planFile, source);
            else
            {
                source.Dispose();
                TryDelete(attempt);
            }
        }
        var published = UnmixPlan.Load(planFile);
        return new WorkResult { Worker = worker, PlanFile = planFile, Tiles = published.Grid.Count };
    }

    private WorkResult Tile(WorkItem item, string worker)
    {
        var shared = Acquire(item.PlanFile!);
        try
        {
            var encoded = shared.Process(item.Tile);
            if (TileDelayMs > 0) Thread.Sleep(TileDelayMs);
            var published = TileStore.Publish(TileStore.TileFile(item.StateDir, item.Scene, item.Tile), encoded);
            return new WorkResult { Worker = worker, Duplicate = !published };
        }
        finally
        {
            Release(shared);
        }
    }

    private WorkResult Assemble(WorkItem item, string worker)
    {
        string TileFile(int k) => TileStore.TileFile(item.StateDir, item.Scene, k);
        var json = File.ReadAllBytes(item.PlanFile!);
        if (MesmaPlan.IsMesmaPlan(json))
        {
            var mesma = MesmaPlan.Load(json, item.PlanFile!);
            var mesmaGrid = mesma.Grid;
            MesmaJob.Assemble(mesma, k => TileStore.ReadTile(TileFile(k), mesma.BandNames.Length, (int)mesmaGrid[k].Window.Area));
            output.WriteLine($"assembled {mesma.Options.Scene.Outputs.Output}");
            output.Flush();
            return new WorkResult { Worker = worker };
        }
        var plan = UnmixPlan.Load(json, item.PlanFile!);
        var grid = plan.Grid;
        var bands = plan.Endmembers.Count + 1;
        UnmixJob.Assemble(plan, k => TileStore.ReadTile(TileFile(k), bands, (int)grid[k].Window.Area));
        output.WriteLine($"assembled {plan.Options.Outputs.Output}");
        output.Flush();
        return new WorkResult { Worker = worker };
    }

    /// <summary>
    /// A scene's tile processor (unmixing or MESMA) and its workspaces, shared by the loops; closed once retired and
    /// unused. <see cref="Process"/> gives a tile's output file.
    /// </summary>
    private abstract class SharedProcessor : IDisposable
    {
        public int Users { get; set; }
        public bool Retired { get; set; }
        public abstract byte[] Process(int tile);
        public abstract void Dispose();

        /// <summary>The processor of a plan file, reading through <paramref name="source"/> when given (the planner's open scene).</summary>
        public static SharedProcessor Open(string planFile, RasterSource? source)
        {
            var json = File.ReadAllBytes(planFile);
            if (MesmaPlan.IsMesmaPlan(json))
            {
                var mesma = MesmaPlan.Load(json, planFile);
                return new Mesma(source is null ? MesmaTiles.Open(mesma) : MesmaTiles.Open(mesma, source));
            }
            var plan = UnmixPlan.Load(json, planFile);
            return new Unmix(source is null ? TileProcessor.Open(plan) : TileProcessor.Open(plan, source));
        }
    }

    private sealed class Unmix(TileProcessor processor) : SharedProcessor
    {
        // Workspaces (a tile's input and output buffers) are reused from tile to tile.
        private readonly System.Collections.Concurrent.ConcurrentBag<TileProcessor.Workspace> _workspaces = [];

        public override byte[] Process(int tile)
        {
            if (!_workspaces.TryTake(out var ws)) ws = processor.CreateWorkspace();
            var valid = processor.Process(tile, ws);
            var bytes = TileStore.EncodeTile(valid, processor.OutputBands, ws.Output);
            _workspaces.Add(ws);
            return bytes;
        }

        public override void Dispose() => processor.Dispose();
    }

    private sealed class Mesma(MesmaTiles tiles) : SharedProcessor
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<MesmaTiles.Workspace> _workspaces = [];

        public override byte[] Process(int tile)
        {
            if (!_workspaces.TryTake(out var ws)) ws = tiles.CreateWorkspace();
            var (valid, _) = tiles.Process(tile, ws);
            var bytes = TileStore.EncodeTile(valid, tiles.OutputBands, ws.Output.AsSpan(0, tiles.OutputBands * (int)tiles.Grid[tile].Window.Area));
            _workspaces.Add(ws);
            return bytes;
        }

        public override void Dispose() => tiles.Dispose();
    }

    private SharedProcessor Acquire(string planFile)
    {
        lock (_gate)
        {
            if (!_processors.TryGetValue(planFile, out var shared))
            {
                // A new scene: close the ones finished elsewhere (their folder is gone) that no loop is using.
                foreach (var key in _processors.Keys.ToList())
                    if (!File.Exists(key)) Retire(key);
                var planned = _planned.FindIndex(p => p.PlanFile == planFile);
                RasterSource? source = null;
                if (planned >= 0)
                {
                    source = _planned[planned].Source;
                    _planned.RemoveAt(planned);
                }
                shared = SharedProcessor.Open(planFile, source);
                _processors[planFile] = shared;
            }
            shared.Users++;
            return shared;
        }
    }

    /// <summary>Keeps a scene this worker planned open for its tiles; closes the oldest kept and those finished elsewhere.</summary>
    private void KeepPlanned(string planFile, RasterSource source)
    {
        lock (_gate)
        {
            if (_processors.ContainsKey(planFile)) { source.Dispose(); return; }
            _planned.Add((planFile, source));
            foreach (var gone in _planned.Where(p => !File.Exists(p.PlanFile)).ToList())
            {
                gone.Source.Dispose();
                _planned.Remove(gone);
            }
            while (_planned.Count > KeptPlans)
            {
                _planned[0].Source.Dispose();
                _planned.RemoveAt(0);
            }
        }
    }

    private void Release(SharedProcessor shared)
    {
        lock (_gate)
        {
            shared.Users--;
            if (shared.Retired && shared.Users == 0) shared.Dispose();
        }
    }

    /// <summary>Closes a scene's processor now, or when the last loop using it is done.</summary>
    private void Retire(string planFile)
    {
        lock (_gate)
        {
            if (!_processors.Remove(planFile, out var shared)) return;
            shared.Retired = true;
            if (shared.Users == 0) shared.Dispose();
        }
    }

    /// <summary>
    /// Reports to the coordinator until it hears (it may be moving to another silo), and returns the next item of the
    /// same job for <paramref name="worker"/> when one is given (null: none now, or a draining worker).
    /// </summary>
    private async Task<WorkItem?> Report(WorkItem item, WorkResult result, string? worker)
    {
        var job = grains.GetGrain<IJobGrain>(item.Job);
        WorkItem? next = null;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (worker is not null && attempt == 0) next = await job.CompleteAndLease(item, result, worker, silo.SiloAddress);
                else await job.Complete(item, result);
                break;
            }
            catch (Exception e) when (attempt < 600)
            {
                log.LogInformation("report of {Item} failed ({Message}); retrying", item, e.Message);
                await Task.Delay(500);
            }
        }
        // The coordinator has removed the scene's folder: its processor is closed once no loop uses it.
        if (item.Kind == WorkKind.Assemble && result.Error is null) Retire(item.PlanFile!);
        return next;
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
