using Microsoft.Extensions.Logging;
using Orleans.GrainDirectory;
using Orleans.Runtime;

namespace HyperUnmix.Geo.Cluster;

[GenerateSerializer]
public sealed class SceneState
{
    [Id(0)] public string Input { get; set; } = "";
    [Id(1)] public string Output { get; set; } = "";
    [Id(2)] public string? PlanFile { get; set; }
    [Id(3)] public int Tiles { get; set; }
    /// <summary>One bit per tile: its output is published.</summary>
    [Id(4)] public byte[] Done { get; set; } = [];
    [Id(6)] public bool Assembled { get; set; }
    [Id(7)] public string? Error { get; set; }

    public bool IsDone(int tile) => (Done[tile >> 3] & (1 << (tile & 7))) != 0;
    public int DoneCount => Done.Sum(b => System.Numerics.BitOperations.PopCount(b));
    public bool Finished => Assembled || Error is not null;
}

/// <summary>
/// Each scene's options (JSON), persisted once when the job is submitted, apart from <see cref="JobState"/>: they
/// were 2.5 KB of the 2.7 KB each scene added to the state the coordinator writes on every completion (measured in
/// the test cluster's Redis), so at 10,000 scenes every tile's acknowledgement rewrote 25 MB (docs/cluster.md, "Cost
/// at 50 machines").
/// </summary>
[GenerateSerializer]
public sealed class JobOptionsState
{
    [Id(0)] public string[] SceneOptions { get; set; } = [];
}

[GenerateSerializer]
public sealed class JobState
{
    [Id(0)] public JobSpec? Spec { get; set; }
    [Id(1)] public List<SceneState> Scenes { get; set; } = [];
    [Id(2)] public bool Cancelled { get; set; }
    [Id(3)] public long DuplicatesDropped { get; set; }
    [Id(4)] public long Requeued { get; set; }
    [Id(5)] public int Activations { get; set; }
    [Id(6)] public double WorkerSeconds { get; set; }
    [Id(7)] public long Items { get; set; }
    [Id(8)] public double CallSeconds { get; set; }
    /// <summary>The worker processes (machine/pid) that completed items.</summary>
    [Id(9)] public HashSet<string> Workers { get; set; } = [];
}

/// <summary>
/// The coordinator of one job. Workers pull items from it (plan a scene, unmix a tile, assemble a scene) under
/// leases with deadlines; a lease is handed out again when its deadline passes or when the silo of its worker is
/// declared dead by Orleans' membership. What is done (one bit per tile) is written to Redis before a completion is
/// acknowledged, so the coordinator can die and be reactivated on another silo without losing a tile: the leases in
/// flight are then simply handed out again, and duplicates are dropped by the tiles' first-writer-wins files.
/// </summary>
[GrainDirectory(GrainDirectoryName = ClusterSetup.Directory)]
public sealed class JobGrain(
    [PersistentState("job", ClusterSetup.Storage)] IPersistentState<JobState> state,
    [PersistentState("options", ClusterSetup.Storage)] IPersistentState<JobOptionsState> options,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    ILogger<JobGrain> log) : Grain, IJobGrain
{
    /// <summary>How long a worker may hold an item before it is handed out again (a dead silo's are handed out at once).</summary>
    public static readonly TimeSpan PlanLease = TimeSpan.FromMinutes(15), AssembleLease = TimeSpan.FromMinutes(15);
    /// <summary>A tile's lease: 2 minutes, or HYPERUNMIX_TILE_LEASE_MS (a test hook that forces duplicate deliveries).</summary>
    public static readonly TimeSpan TileLease = int.TryParse(Environment.GetEnvironmentVariable("HYPERUNMIX_TILE_LEASE_MS"), out var ms) && ms > 0
        ? TimeSpan.FromMilliseconds(ms) : TimeSpan.FromMinutes(2);

    private sealed record Held(string Worker, SiloAddress Silo, DateTime Deadline);
    private readonly Dictionary<(WorkKind Kind, int Scene, int Tile), Held> _leases = [];
    private JobState S => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Spec is not null)
        {
            S.Activations++;
            await state.WriteStateAsync(cancellationToken);
            log.LogInformation("job {Job} coordinator activated ({N}th time)", this.GetPrimaryKeyString(), S.Activations);
            // A scene is marked finished, then its folder removed: a coordinator that died in between removes it now.
            for (var i = 0; i < S.Scenes.Count; i++)
                if (S.Scenes[i].Finished) await RemoveSceneFolder(i);
            if (AllScenesFinished) TileStore.RemoveJobFolder(StateDir);
        }
    }

    private string StateDir => TileStore.StateDir(S.Spec!.OutDir, S.Spec.Name);

    /// <summary>Removes a finished scene's folder (<see cref="TileStore"/>: no late duplicate can bring it back).</summary>
    private async Task RemoveSceneFolder(int scene)
    {
        var stateDir = StateDir;
        try { await Task.Run(() => TileStore.RemoveScene(stateDir, scene)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("job {Job}: cannot remove the folder of scene {Scene}: {Message}", S.Spec!.Name, scene + 1, e.Message);
        }
    }

    public async Task<JobStatus> Submit(JobSpec spec)
    {
        var name = this.GetPrimaryKeyString();
        if (spec.Name != name) throw new ArgumentException($"job name {spec.Name} does not match the coordinator's {name}");
        if (S.Spec is null)
        {
            // The options first: a state without them is never written.
            options.State.SceneOptions = spec.SceneOptions;
            await options.WriteStateAsync();
            S.Spec = spec with { SceneOptions = [] };
            S.Activations = 1;
            S.Scenes = spec.SceneOptions.Select(json =>
            {
                var (input, output) = SceneOrders.Files(json);
                return new SceneState { Input = input, Output = output };
            }).ToList();
            await state.WriteStateAsync();
        }
        else if (S.Spec.OutDir != spec.OutDir || !options.State.SceneOptions.SequenceEqual(spec.SceneOptions))
        {
            throw new ArgumentException($"job {name} exists with other scenes, options or output folder: give another --job, or cancel it first");
        }
        else if (S.Cancelled)
        {
            // Submitting a cancelled job again resumes it where it stopped.
            S.Cancelled = false;
            await state.WriteStateAsync();
        }
        if (!Finished)
        {
            // The job's folder: the only folder made recursively (TileStore).
            TileStore.CreateJob(StateDir);
            await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Add(name);
        }
        return CurrentStatus();
    }

    private bool Finished => S.Spec is not null && (S.Cancelled || AllScenesFinished);
    private bool AllScenesFinished => S.Scenes.All(s => s.Finished);

    /// <summary>
    /// The next item for <paramref name="worker"/>, in this order: the tiles (then the assembly) of the scenes its
    /// process planned, whose file it still has open with the blocks the planning decompressed (measured: a tile read
    /// through another handle decompressed them again, 84 ms instead of 15 ms per 128 x 128 x 200 DEFLATE tile);
    /// then the next scene's plan, so that workers plan different scenes at once; then any tile or assembly left
    /// (another worker's scene, e.g. at the end of the job or when its planner died). Which worker does an item
    /// never changes its bytes.
    /// </summary>
    public async Task<WorkItem?> Lease(string worker, SiloAddress silo)
    {
        if (S.Spec is null || Finished) return null;
        Expire();
        var now = DateTime.UtcNow;
        var process = ProcessOf(worker);
        // 1. The scenes this worker's process planned.
        for (var i = 0; i < S.Scenes.Count; i++)
            if (_planner.TryGetValue(i, out var p) && p == process && Next(i, worker, silo, now) is { } own) return own;
        // 2. A new scene's plan.
        for (var i = 0; i < S.Scenes.Count; i++)
        {
            var s = S.Scenes[i];
            if (s.Finished || s.PlanFile is not null || _leases.ContainsKey((WorkKind.Plan, i, -1))) continue;
            // The scene's folders are created here, in a turn that knows the scene is not finished (TileStore).
            if (!await CreateSceneFolder(i)) continue;
            return Give(WorkKind.Plan, i, -1, worker, silo, now + PlanLease);
        }
        // 3. Whatever is left.
        for (var i = 0; i < S.Scenes.Count; i++)
            if (Next(i, worker, silo, now) is { } any) return any;
        return null;
    }

    /// <summary>A planned scene's next tile, or its assembly once every tile is done; null when neither is free.</summary>
    private WorkItem? Next(int i, string worker, SiloAddress silo, DateTime now)
    {
        var s = S.Scenes[i];
        if (s.Finished || s.PlanFile is null) return null;
        if (s.DoneCount < s.Tiles)
        {
            for (var t = 0; t < s.Tiles; t++)
                if (!s.IsDone(t) && !_leases.ContainsKey((WorkKind.Tile, i, t))) return Give(WorkKind.Tile, i, t, worker, silo, now + TileLease);
            return null;
        }
        return _leases.ContainsKey((WorkKind.Assemble, i, -1)) ? null : Give(WorkKind.Assemble, i, -1, worker, silo, now + AssembleLease);
    }

    /// <summary>Which worker process planned each scene (this activation's memory: after a move, any worker takes any tile).</summary>
    private readonly Dictionary<int, string> _planner = [];

    /// <summary>A work loop's worker name is machine/pid/loop: the process is what shares open files.</summary>
    private static string ProcessOf(string worker) => worker[..Math.Max(0, worker.LastIndexOf('/'))];

    /// <summary>
    /// Creates a scene's folders before its plan is handed out; false when this activation must not: the scene's
    /// tombstone says another (current) activation finished it, so this one's state is stale.
    /// </summary>
    private async Task<bool> CreateSceneFolder(int scene)
    {
        var stateDir = StateDir;
        if (TileStore.CreateScene(stateDir, scene)) return true;
        if (Directory.Exists(stateDir)) return false;
        // The job's folder is gone while the job has work left (removed by hand): made again, once this activation
        // has shown that its state is current (a stale one fails to write it).
        await state.WriteStateAsync();
        TileStore.CreateJob(stateDir);
        return TileStore.CreateScene(stateDir, scene);
    }

    private WorkItem? Give(WorkKind kind, int scene, int tile, string worker, SiloAddress silo, DateTime deadline)
    {
        _leases[(kind, scene, tile)] = new Held(worker, silo, deadline);
        var spec = S.Spec!;
        return new WorkItem
        {
            Job = spec.Name,
            Kind = kind,
            Scene = scene,
            Tile = tile,
            PlanFile = S.Scenes[scene].PlanFile,
            StateDir = StateDir,
            OptionsJson = kind == WorkKind.Plan ? options.State.SceneOptions[scene] : null,
        };
    }

    /// <summary>Hands out again the items whose deadline passed or whose worker's silo was declared dead.</summary>
    private void Expire()
    {
        var now = DateTime.UtcNow;
        var snapshot = membership.CurrentSnapshot;
        foreach (var (key, lease) in _leases.ToList())
        {
            if (lease.Deadline > now && snapshot.GetSiloStatus(lease.Silo) != SiloStatus.Dead) continue;
            _leases.Remove(key);
            S.Requeued++;
            log.LogWarning("job {Job}: {Kind} of scene {Scene} tile {Tile} handed out again ({Worker} {Why})", S.Spec!.Name, key.Kind, key.Scene + 1, key.Tile,
                lease.Worker, lease.Deadline <= now ? "missed its deadline" : "is on a dead silo");
        }
    }

    public async Task Complete(WorkItem item, WorkResult result)
    {
        if (S.Spec is null || item.Scene < 0 || item.Scene >= S.Scenes.Count) return;
        _leases.Remove((item.Kind, item.Scene, item.Tile));
        S.WorkerSeconds += result.Seconds;
        S.Items++;
        S.CallSeconds += result.CallSeconds;
        S.Workers.Add(result.Worker[..Math.Max(0, result.Worker.LastIndexOf('/'))]);
        var s = S.Scenes[item.Scene];
        if (s.Finished)
        {
            // A late duplicate of a finished scene's item: its result (an error included: its folder is gone) is dropped.
            S.DuplicatesDropped++;
            await state.WriteStateAsync();
            return;
        }
        if (result.Error is not null)
        {
            s.Error ??= result.Error;
            log.LogWarning("job {Job}: scene {Scene} failed: {Error}", S.Spec.Name, item.Scene + 1, result.Error);
        }
        else
        {
            switch (item.Kind)
            {
                case WorkKind.Plan when s.PlanFile is null && result.PlanFile is not null:
                    s.PlanFile = result.PlanFile;
                    _planner[item.Scene] = ProcessOf(result.Worker);
                    s.Tiles = result.Tiles;
                    s.Done = new byte[(result.Tiles + 7) / 8];
                    break;
                case WorkKind.Tile when s.PlanFile is not null && item.Tile >= 0 && item.Tile < s.Tiles:
                    if (result.Duplicate) S.DuplicatesDropped++;
                    s.Done[item.Tile >> 3] |= (byte)(1 << (item.Tile & 7));
                    break;
                case WorkKind.Assemble when s.DoneCount == s.Tiles:
                    s.Assembled = true;
                    break;
            }
        }
        // Persisted before the worker hears back: a completion acknowledged is never lost.
        await state.WriteStateAsync();
        if (s.Finished)
        {
            // Removed before the worker (and any status) hears that the scene is finished.
            await RemoveSceneFolder(item.Scene);
            if (AllScenesFinished) TileStore.RemoveJobFolder(StateDir);
        }
        if (Finished) await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Remove(S.Spec.Name);
    }

    public Task<JobStatus> Status() => Task.FromResult(CurrentStatus());

    public async Task<JobStatus> Cancel()
    {
        if (S.Spec is null) return CurrentStatus();
        S.Cancelled = true;
        _leases.Clear();
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Remove(S.Spec.Name);
        return CurrentStatus();
    }

    private JobStatus CurrentStatus()
    {
        var name = this.GetPrimaryKeyString();
        if (S.Spec is null) return new JobStatus { Name = name, State = "unknown", Scenes = [] };
        var scenes = S.Scenes.Select((s, i) => new SceneStatus
        {
            Input = s.Input,
            Output = s.Output,
            Phase = s.Error is not null ? "failed" : s.Assembled ? "done" : s.PlanFile is null ? "planning" : s.DoneCount < s.Tiles ? "tiles" : "assembling",
            Tiles = s.Tiles,
            TilesDone = s.DoneCount,
            Error = s.Error,
        }).ToArray();
        var st = S.Cancelled ? "cancelled" : !Finished ? "running" : scenes.Any(s => s.Error is not null) ? "failed" : "done";
        return new JobStatus
        {
            Name = name,
            State = st,
            Scenes = scenes,
            DuplicatesDropped = S.DuplicatesDropped,
            Requeued = S.Requeued,
            Activations = S.Activations,
            WorkerSeconds = S.WorkerSeconds,
            Items = S.Items,
            CallSeconds = S.CallSeconds,
            Workers = S.Workers.Count,
            Coordinator = silo.SiloAddress.ToString(),
        };
    }
}

[GenerateSerializer]
public sealed class RegistryState
{
    [Id(0)] public List<string> Jobs { get; set; } = [];
}

/// <summary>The jobs with work left, persisted so that workers started after a full restart find them.</summary>
[GrainDirectory(GrainDirectoryName = ClusterSetup.Directory)]
public sealed class JobRegistryGrain([PersistentState("registry", ClusterSetup.Storage)] IPersistentState<RegistryState> state) : Grain, IJobRegistryGrain
{
    public async Task Add(string job)
    {
        if (state.State.Jobs.Contains(job)) return;
        state.State.Jobs.Add(job);
        await state.WriteStateAsync();
    }

    public async Task Remove(string job)
    {
        if (state.State.Jobs.Remove(job)) await state.WriteStateAsync();
    }

    public Task<string[]> Active() => Task.FromResult(state.State.Jobs.ToArray());
}
