using System.Net;
using HyperUnmix.Geo.Pipeline;

namespace HyperUnmix.Geo.Cluster;

/// <summary>A worker's own settings: its cluster, its loops and memory, its ports.</summary>
internal sealed record WorkerOptions
{
    public required ClusterAddress Cluster { get; init; }
    /// <summary>Items processed at once (each on one thread).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>The memory budget this worker's planner sizes a scene's tiles by (checked as a run's is).</summary>
    public long MemoryBytes { get; init; } = new ExecutionOptions().MemoryBytes;
    public int SiloPort { get; init; }
    public int GatewayPort { get; init; }
    public IPAddress? Advertise { get; init; }
    public bool Verbose { get; init; }
}
