using System.Text.Json.Serialization;

namespace HyperUnmix.Geo.Cluster;

/// <summary>A scene's progress: its plan, one bit per published tile, its assembly or error (<see cref="ProgressStore"/>).</summary>
internal sealed class SceneState
{
    public string? PlanFile { get; set; }
    public int Tiles { get; set; }
    /// <summary>One bit per tile: its output is published.</summary>
    public byte[] Done { get; set; } = [];
    public bool Assembled { get; set; }
    public string? Error { get; set; }

    public bool IsDone(int tile) => (Done[tile >> 3] & (1 << (tile & 7))) != 0;
    [JsonIgnore] public int DoneCount => Done.Sum(b => System.Numerics.BitOperations.PopCount(b));
    /// <summary>Every tile of the planned scene is done (no count kept: the first tile not done is past the last).</summary>
    [JsonIgnore] public bool AllTilesDone => FirstNotDone == Tiles;
    [JsonIgnore] public bool Finished => Assembled || Error is not null;

    /// <summary>
    /// The first tile not done (every tile before it is: tile bits are only ever set), so that handing out a tile
    /// does not scan a large scene's bits from the start each time. Memory only.
    /// </summary>
    [JsonIgnore]
    public int FirstNotDone
    {
        get
        {
            while (_firstNotDone < Tiles && IsDone(_firstNotDone)) _firstNotDone++;
            return _firstNotDone;
        }
    }

    private int _firstNotDone;
}

/// <summary>A scene's input and output (fixed when the job is submitted).</summary>
[GenerateSerializer]
internal sealed class SceneFiles
{
    [Id(0)] public string Input { get; set; } = "";
    [Id(1)] public string Output { get; set; } = "";
}

/// <summary>
/// Each scene's options (JSON), persisted once when the job is submitted, apart from <see cref="JobState"/>: they
/// were 2.5 KB of the 2.7 KB each scene added to the state the coordinator wrote on every completion (measured in
/// the test cluster's Redis), so at 10,000 scenes every tile's acknowledgement rewrote 25 MB (docs/cluster.md, "Cost
/// at 50 machines").
/// </summary>
[GenerateSerializer]
internal sealed class JobOptionsState
{
    [Id(0)] public string[] SceneOptions { get; set; } = [];
}

/// <summary>
/// What a job is (written when it is submitted, cancelled or its coordinator activated, checked by ETag so that a
/// stale activation cannot write it); its progress is in <see cref="ProgressStore"/>, a field per scene.
/// </summary>
[GenerateSerializer]
internal sealed class JobState
{
    [Id(0)] public JobSpec? Spec { get; set; }
    [Id(1)] public List<SceneFiles> Scenes { get; set; } = [];
    [Id(2)] public bool Cancelled { get; set; }
    [Id(5)] public int Activations { get; set; }
}
