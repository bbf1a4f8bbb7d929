namespace HyperUnmix.Geo.Cluster;

/// <summary>What a work item asks a worker to do.</summary>
[GenerateSerializer]
internal enum WorkKind
{
    /// <summary>Plan a scene: endmembers (and the deep model) once, written to the job's folder.</summary>
    Plan,
    /// <summary>Unmix one tile of a planned scene and publish its output file.</summary>
    Tile,
    /// <summary>Write a scene's outputs from its tiles, in tile order.</summary>
    Assemble,
}

/// <summary>A leased piece of work. Pixels never travel in it: the worker reads the scene and writes files.</summary>
[GenerateSerializer, Immutable]
internal sealed record WorkItem
{
    [Id(0)] public required string Job { get; init; }
    [Id(1)] public required WorkKind Kind { get; init; }
    [Id(2)] public required int Scene { get; init; }
    /// <summary>Tile index in the scene's grid (Tile items), else -1.</summary>
    [Id(3)] public int Tile { get; init; } = -1;
    /// <summary>The scene's plan file (Tile and Assemble items).</summary>
    [Id(4)] public string? PlanFile { get; init; }
    /// <summary>The job's folder for plans and tile outputs.</summary>
    [Id(5)] public required string StateDir { get; init; }
    /// <summary>The scene's options, as JSON (Plan items).</summary>
    [Id(6)] public string? OptionsJson { get; init; }

    public override string ToString() => Kind switch
    {
        WorkKind.Tile => $"{Job} scene {Scene + 1} tile {Tile}",
        _ => $"{Job} scene {Scene + 1} {Kind.ToString().ToLowerInvariant()}",
    };
}

/// <summary>A job: scenes with their options, all written under one output folder.</summary>
[GenerateSerializer, Immutable]
internal sealed record JobSpec
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required string OutDir { get; init; }
    /// <summary>Each scene's options (input, output and everything else), as JSON.</summary>
    [Id(2)] public required string[] SceneOptions { get; init; }
}

/// <summary>How a worker finished an item.</summary>
[GenerateSerializer, Immutable]
internal sealed record WorkResult
{
    /// <summary>Plan items: the published plan file.</summary>
    [Id(0)] public string? PlanFile { get; init; }
    /// <summary>Plan items: the scene's tile count.</summary>
    [Id(1)] public int Tiles { get; init; }
    /// <summary>Tile items: another worker had already published this tile; this output was dropped.</summary>
    [Id(2)] public bool Duplicate { get; init; }
    /// <summary>Set when the item failed for a reason that retrying cannot fix (bad input): the scene fails with it.</summary>
    [Id(3)] public string? Error { get; init; }
    [Id(4)] public required string Worker { get; init; }
    [Id(5)] public double Seconds { get; init; }
    /// <summary>Seconds the worker spent waiting for the coordinator: this item's lease and the previous item's report.</summary>
    [Id(6)] public double CallSeconds { get; init; }
}

[GenerateSerializer, Immutable]
internal sealed record SceneStatus
{
    [Id(0)] public required string Input { get; init; }
    [Id(1)] public required string Output { get; init; }
    [Id(2)] public required string Phase { get; init; }
    [Id(3)] public int Tiles { get; init; }
    [Id(4)] public int TilesDone { get; init; }
    [Id(5)] public string? Error { get; init; }
}

[GenerateSerializer, Immutable]
internal sealed record JobStatus
{
    [Id(0)] public required string Name { get; init; }
    /// <summary>unknown | running | done | failed | cancelled.</summary>
    [Id(1)] public required string State { get; init; }
    [Id(2)] public required SceneStatus[] Scenes { get; init; }
    /// <summary>Tile outputs computed again (a lease that expired, a worker declared dead) and dropped.</summary>
    [Id(4)] public long DuplicatesDropped { get; init; }
    /// <summary>Items handed out again after their worker's silo was declared dead or their deadline passed.</summary>
    [Id(5)] public long Requeued { get; init; }
    /// <summary>Times the coordinator was activated (more than one: it moved after a silo died).</summary>
    [Id(6)] public int Activations { get; init; }
    [Id(8)] public double WorkerSeconds { get; init; }
    /// <summary>Worker processes that completed items of the job.</summary>
    [Id(9)] public int Workers { get; init; }
    /// <summary>Items completed, and the workers' seconds spent in coordinator calls for them (lease + report).</summary>
    [Id(11)] public long Items { get; init; }
    [Id(12)] public double CallSeconds { get; init; }
    /// <summary>The silo the coordinator runs on now.</summary>
    [Id(10)] public string? Coordinator { get; init; }

    public bool Finished => State is "done" or "failed" or "cancelled";
}

/// <summary>The coordinator of one job (key: the job's name). Its state (done-bitmaps) lives in Redis.</summary>
internal interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the job, or re-attaches to it when it exists with the same scenes and options.</summary>
    Task<JobStatus> Submit(JobSpec spec);
    /// <summary>The next item for <paramref name="worker"/> on <paramref name="silo"/>, or null when there is none now.</summary>
    Task<WorkItem?> Lease(string worker, SiloAddress silo);
    /// <summary>Records a finished item; a scene that it finishes has its folder removed before this returns.</summary>
    Task Complete(WorkItem item, WorkResult result);
    /// <summary>
    /// <see cref="Complete"/>, then <see cref="Lease"/> for the same worker: one call per item instead of two (a
    /// worker on a busy core waited 18-25 ms per call for the coordinator's silo, measured in `bench cluster --pin`).
    /// </summary>
    Task<WorkItem?> CompleteAndLease(WorkItem item, WorkResult result, string worker, SiloAddress silo);
    Task<JobStatus> Status();
    Task<JobStatus> Cancel();
}

/// <summary>The jobs workers pull from (key: "jobs").</summary>
internal interface IJobRegistryGrain : IGrainWithStringKey
{
    Task Add(string job);
    Task Remove(string job);
    Task<string[]> Active();
}
