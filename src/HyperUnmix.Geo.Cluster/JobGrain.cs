using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.GrainDirectory;
using Orleans.Runtime;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// The coordinator of one job. Workers pull items from it (plan a scene, unmix a tile, assemble a scene) under
/// leases with deadlines; a lease is handed out again when its deadline passes or when the silo of its worker is
/// declared dead by Orleans' membership. What is done (one bit per tile) is written to Redis before a completion is
/// acknowledged, so the coordinator can die and be reactivated on another silo without losing a tile: the leases in
/// flight are then simply handed out again, and duplicates are dropped by the tiles' first-writer-wins files.
/// Completions are recorded by group commit: each writes only its scene's field (<see cref="ProgressStore"/>), and
/// those that arrive while a write is in flight share the next one, so the coordinator is reentrant (its turns
/// interleave at awaits; each turn's changes to memory are synchronous).
/// </summary>
[GrainDirectory(GrainDirectoryName = ClusterSetup.Directory)]
[Reentrant]
internal sealed class JobGrain(
    [PersistentState("job", ClusterSetup.Storage)] IPersistentState<JobState> state,
    [PersistentState("options", ClusterSetup.Storage)] IPersistentState<JobOptionsState> options,
    ProgressStore progress,
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
    private string Name => this.GetPrimaryKeyString();
    /// <summary>Each scene's progress and the job's counters, as recorded (or about to be: <see cref="_dirty"/>).</summary>
    private SceneState[] _scenes = [];
    private JobCounters _counters = new();
    private int _finished;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Spec is not null)
        {
            S.Activations++;
            // Proves this activation current (a stale one's ETag fails), then fences the progress with its number.
            await state.WriteStateAsync(cancellationToken);
            await progress.Fence(Name, S.Activations);
            var (scenes, counters) = await progress.Load(Name);
            _scenes = Enumerable.Range(0, S.Scenes.Count).Select(i => scenes.GetValueOrDefault(i) ?? new SceneState()).ToArray();
            _counters = counters;
            _finished = _scenes.Count(x => x.Finished);
            log.LogInformation("job {Job} coordinator activated ({N}th time)", Name, S.Activations);
            // A scene is marked finished, then its folder removed: a coordinator that died in between removes it now.
            for (var i = 0; i < _scenes.Length; i++)
                if (_scenes[i].Finished) await RemoveSceneFolder(i);
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

    /// <summary>
    /// Runs <paramref name="next"/> once the task in <paramref name="last"/> has ended (whatever its outcome, which its
    /// own caller saw), and leaves it there: what is chained this way runs one at a time although turns interleave.
    /// </summary>
    private static Task OneAtATime(ref Task last, Func<Task> next)
    {
        var run = After(last);
        last = run;
        return run;

        async Task After(Task previous)
        {
            try { await previous; } catch (Exception) { /* its caller saw it */ }
            await next();
        }
    }

    /// <summary>Job state writes one at a time (Orleans' state must not be written twice at once).</summary>
    private Task _jobWrite = Task.CompletedTask;

    private Task WriteJobState() => OneAtATime(ref _jobWrite, () => state.WriteStateAsync());

    /// <summary>
    /// Submit and Cancel one at a time: the grain is reentrant for the workers' calls, and two submits of a new job
    /// (two clients at once) must not both create it.
    /// </summary>
    private Task _control = Task.CompletedTask;

    public async Task<JobStatus> Submit(JobSpec spec)
    {
        await OneAtATime(ref _control, () => SubmitNow(spec));
        return CurrentStatus();
    }

    private async Task SubmitNow(JobSpec spec)
    {
        var name = Name;
        if (spec.Name != name) throw new ArgumentException($"job name {spec.Name} does not match the coordinator's {name}");
        if (S.Spec is null)
        {
            // The options first: a state without them is never written; then the progress, fenced by activation 1.
            options.State.SceneOptions = spec.SceneOptions;
            await options.WriteStateAsync();
            await progress.Create(name, 1);
            var files = spec.SceneOptions.Select(json =>
            {
                var (input, output) = SceneOrders.Files(json);
                return new SceneFiles { Input = input, Output = output };
            }).ToList();
            _scenes = files.Select(_ => new SceneState()).ToArray();
            _counters = new JobCounters();
            _finished = 0;
            S.Spec = spec with { SceneOptions = [] };
            S.Activations = 1;
            S.Scenes = files;
            await WriteJobState();
        }
        else if (S.Spec.OutDir != spec.OutDir || !options.State.SceneOptions.SequenceEqual(spec.SceneOptions))
        {
            throw new ArgumentException($"job {name} exists with other scenes, options or output folder: give another --job, or cancel it first");
        }
        else if (S.Cancelled)
        {
            // Submitting a cancelled job again resumes it where it stopped.
            S.Cancelled = false;
            await WriteJobState();
        }
        if (!Finished)
        {
            // The job's folder: the only folder made recursively (TileStore).
            TileStore.CreateJob(StateDir);
            await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Add(name);
        }
    }

    private bool Finished => S.Spec is not null && (S.Cancelled || AllScenesFinished);
    private bool AllScenesFinished => _finished == _scenes.Length;

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
        var now = DateTime.UtcNow;
        Expire(now);
        var process = ProcessOf(worker);
        // 1. The scenes this worker's process planned (those finished since are dropped from its list).
        if (_plannedBy.TryGetValue(process, out var mine))
        {
            mine.RemoveAll(i => _scenes[i].Finished);
            foreach (var i in mine)
                if (Next(i, worker, silo, now) is { } own) return own;
        }
        // 2. A new scene's plan: from the first scene without one (scenes before it all have a plan or are finished,
        // which never changes back), so a lease does not walk the whole archive.
        while (_planCursor < _scenes.Length && (_scenes[_planCursor].PlanFile is not null || _scenes[_planCursor].Finished)) _planCursor++;
        for (var i = _planCursor; i < _scenes.Length; i++)
        {
            if (!PlanFree(i)) continue;
            // The scene's folders are created here, in a turn that knows the scene is not finished (TileStore).
            if (!await CreateSceneFolder(i)) continue;
            // Checked again: another turn may have run while this one awaited.
            if (!PlanFree(i) || Finished) continue;
            return Give(WorkKind.Plan, i, -1, worker, silo, now + PlanLease);
        }
        // 3. Whatever is left, from the first scene not finished.
        while (_openCursor < _scenes.Length && _scenes[_openCursor].Finished) _openCursor++;
        for (var i = _openCursor; i < _scenes.Length; i++)
            if (Next(i, worker, silo, now) is { } any) return any;
        return null;
    }

    /// <summary>The first scene that may lack a plan, and the first that may not be finished (both only move forward).</summary>
    private int _planCursor, _openCursor;

    private bool PlanFree(int i) => _scenes[i] is { Finished: false, PlanFile: null } && !_leases.ContainsKey((WorkKind.Plan, i, -1));

    /// <summary>A planned scene's next tile, or its assembly once every tile is done; null when neither is free.</summary>
    private WorkItem? Next(int i, string worker, SiloAddress silo, DateTime now)
    {
        var s = _scenes[i];
        if (s.Finished || s.PlanFile is null) return null;
        if (!s.AllTilesDone)
        {
            for (var t = s.FirstNotDone; t < s.Tiles; t++)
                if (!s.IsDone(t) && !_leases.ContainsKey((WorkKind.Tile, i, t))) return Give(WorkKind.Tile, i, t, worker, silo, now + TileLease);
            return null;
        }
        return _leases.ContainsKey((WorkKind.Assemble, i, -1)) ? null : Give(WorkKind.Assemble, i, -1, worker, silo, now + AssembleLease);
    }

    /// <summary>The unfinished scenes each worker process planned (this activation's memory: after a move, any worker takes any tile).</summary>
    private readonly Dictionary<string, List<int>> _plannedBy = [];

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
        await WriteJobState();
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
            PlanFile = _scenes[scene].PlanFile,
            StateDir = StateDir,
            OptionsJson = kind == WorkKind.Plan ? options.State.SceneOptions[scene] : null,
        };
    }

    /// <summary>When leases were last checked for expiry: at most every <see cref="ExpiryInterval"/> (it walks every lease in flight).</summary>
    private DateTime _expired;
    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Hands out again the items whose deadline passed or whose worker's silo was declared dead.</summary>
    private void Expire(DateTime now)
    {
        if (now - _expired < ExpiryInterval) return;
        _expired = now;
        var snapshot = membership.CurrentSnapshot;
        foreach (var (key, lease) in _leases.ToList())
        {
            if (lease.Deadline > now && snapshot.GetSiloStatus(lease.Silo) != SiloStatus.Dead) continue;
            _leases.Remove(key);
            _counters.Requeued++;
            log.LogWarning("job {Job}: {Kind} of scene {Scene} tile {Tile} handed out again ({Worker} {Why})", S.Spec!.Name, key.Kind, key.Scene + 1, key.Tile,
                lease.Worker, lease.Deadline <= now ? "missed its deadline" : "is on a dead silo");
        }
    }

    public async Task Complete(WorkItem item, WorkResult result)
    {
        if (S.Spec is null || item.Scene < 0 || item.Scene >= _scenes.Length) return;
        // Everything up to the commit runs in this turn, without awaiting: no other turn sees half of it.
        _leases.Remove((item.Kind, item.Scene, item.Tile));
        _counters.WorkerSeconds += result.Seconds;
        _counters.Items++;
        _counters.CallSeconds += result.CallSeconds;
        _counters.Workers.Add(ProcessOf(result.Worker));
        var s = _scenes[item.Scene];
        if (s.Finished)
        {
            // A late duplicate of a finished scene's item: its result (an error included: its folder is gone) is dropped.
            _counters.DuplicatesDropped++;
            await Commit();
            // The completion that finished the scene may have failed to commit after recording it here (its worker
            // retries it, and the retry lands here): the folder is removed by whichever gets here.
            if (Directory.Exists(TileStore.SceneDir(StateDir, item.Scene))) await SceneFinished(item.Scene);
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
                    var planner = ProcessOf(result.Worker);
                    if (!_plannedBy.TryGetValue(planner, out var planned)) _plannedBy[planner] = planned = [];
                    planned.Add(item.Scene);
                    s.Tiles = result.Tiles;
                    s.Done = new byte[(result.Tiles + 7) / 8];
                    break;
                case WorkKind.Tile when s.PlanFile is not null && item.Tile >= 0 && item.Tile < s.Tiles:
                    if (result.Duplicate) _counters.DuplicatesDropped++;
                    s.Done[item.Tile >> 3] |= (byte)(1 << (item.Tile & 7));
                    break;
                case WorkKind.Assemble when s.AllTilesDone:
                    s.Assembled = true;
                    break;
            }
        }
        if (s.Finished) _finished++;
        _dirty.Add(item.Scene);
        // Persisted before the worker hears back: a completion acknowledged is never lost.
        await Commit();
        if (s.Finished) await SceneFinished(item.Scene);
        else if (Finished) await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Remove(S.Spec.Name);
    }

    public async Task<WorkItem?> CompleteAndLease(WorkItem item, WorkResult result, string worker, SiloAddress silo)
    {
        await Complete(item, result);
        return await Lease(worker, silo);
    }

    /// <summary>
    /// A finished scene (recorded in Redis) has its folder removed, and the job's with its last scene, before the
    /// worker (and any status) hears of it. Idempotent: turns interleave, and two may get here for one scene.
    /// </summary>
    private async Task SceneFinished(int scene)
    {
        await RemoveSceneFolder(scene);
        if (AllScenesFinished) TileStore.RemoveJobFolder(StateDir);
        if (Finished) await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Remove(S.Spec!.Name);
    }

    /// <summary>Scenes changed since the last write began.</summary>
    private readonly HashSet<int> _dirty = [];
    /// <summary>The completions waiting for the next write (null: none yet).</summary>
    private TaskCompletionSource? _group;
    private bool _writing;

    /// <summary>
    /// Group commit: the returned task completes once the changes made so far are in Redis. Only one write is in flight
    /// at a time; completions that arrive meanwhile join one group and share the next write, which takes the changed
    /// scenes' fields and the counters as they are when it starts.
    /// </summary>
    private Task Commit()
    {
        _group ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = _group.Task;
        if (!_writing) _ = WriteGroups();
        return done;
    }

    private async Task WriteGroups()
    {
        _writing = true;
        try
        {
            while (_group is { } group)
            {
                _group = null;
                var scenes = _dirty.Order().Select(i => (i, _scenes[i])).ToList();
                _dirty.Clear();
                try
                {
                    await progress.Write(Name, S.Activations, scenes, _counters);
                    group.SetResult();
                }
                catch (Exception e)
                {
                    // Written again with the next group; this group's completions are retried by their workers.
                    foreach (var (i, _) in scenes) _dirty.Add(i);
                    group.SetException(e);
                    if (e is StaleCoordinatorException)
                    {
                        log.LogWarning("job {Job}: {Message}; this activation steps down", Name, e.Message);
                        DeactivateOnIdle();
                    }
                }
            }
        }
        finally
        {
            _writing = false;
        }
    }

    public Task<JobStatus> Status() => Task.FromResult(CurrentStatus());

    public async Task<JobStatus> Cancel()
    {
        await OneAtATime(ref _control, CancelNow);
        return CurrentStatus();
    }

    private async Task CancelNow()
    {
        if (S.Spec is null) return;
        S.Cancelled = true;
        _leases.Clear();
        await WriteJobState();
        await GrainFactory.GetGrain<IJobRegistryGrain>(ClusterSetup.Registry).Remove(S.Spec.Name);
    }

    private JobStatus CurrentStatus()
    {
        var name = Name;
        if (S.Spec is null) return new JobStatus { Name = name, State = "unknown", Scenes = [] };
        var scenes = _scenes.Select((s, i) => new SceneStatus
        {
            Input = S.Scenes[i].Input,
            Output = S.Scenes[i].Output,
            Phase = s.Error is not null ? "failed" : s.Assembled ? "done" : s.PlanFile is null ? "planning" : !s.AllTilesDone ? "tiles" : "assembling",
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
            DuplicatesDropped = _counters.DuplicatesDropped,
            Requeued = _counters.Requeued,
            Activations = S.Activations,
            WorkerSeconds = _counters.WorkerSeconds,
            Items = _counters.Items,
            CallSeconds = _counters.CallSeconds,
            Workers = _counters.Workers.Count,
            Coordinator = silo.SiloAddress.ToString(),
        };
    }
}
