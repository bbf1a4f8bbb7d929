using System.Text.Json;
using StackExchange.Redis;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// Where a job's progress lives in Redis: one hash per job, a field per scene (its plan file, tile bits, assembly
/// and error: a few hundred bytes) plus the job's counters, so that recording a completion writes what changed and
/// not the whole job (docs/cluster.md, "Cost at 50 machines": at 10,000 scenes every completion rewrote 4 MB).
/// Writes are fenced by the coordinator's activation number (<c>epoch</c>): an activation first proves it is the
/// current one (its Orleans state write, checked by ETag, succeeds), then sets the epoch; a stale activation's later
/// writes are refused by the script that does them.
/// </summary>
internal sealed class ProgressStore(ClusterAddress cluster) : IDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _redis = new(() => ConnectionMultiplexer.ConnectAsync(cluster.RedisOptions()));

    private const string Epoch = "epoch", Counters = "counters";

    /// <summary>The field of scene <paramref name="scene"/> (0-based).</summary>
    private static string SceneField(int scene) => "s" + scene.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private RedisKey Key(string job) => $"hyperunmix:{cluster.Name}:progress:{job}";

    // HSET of the field/value pairs (ARGV[2]..) only when the hash's epoch is ARGV[1]; 0 when it is not (a stale coordinator).
    private const string Fenced = """
        if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
        for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
        return 1
        """;

    private async Task<IDatabase> Db() => (await _redis.Value).GetDatabase();

    /// <summary>A new job: whatever a job of that name left is removed, and the first activation's epoch set.</summary>
    public async Task Create(string job, int epoch)
    {
        var db = await Db();
        var tx = db.CreateTransaction();
        _ = tx.KeyDeleteAsync(Key(job));
        _ = tx.HashSetAsync(Key(job), Epoch, epoch);
        await tx.ExecuteAsync();
    }

    /// <summary>Makes <paramref name="epoch"/> the current activation's (after its Orleans state write proved it current).</summary>
    public async Task Fence(string job, int epoch) => await (await Db()).HashSetAsync(Key(job), Epoch, epoch);

    /// <summary>The job's scenes' progress (missing: nothing recorded yet) and counters.</summary>
    public async Task<(Dictionary<int, SceneState> Scenes, JobCounters Counters)> Load(string job)
    {
        var scenes = new Dictionary<int, SceneState>();
        var counters = new JobCounters();
        foreach (var e in await (await Db()).HashGetAllAsync(Key(job)))
        {
            var name = (string)e.Name!;
            if (name == Counters) counters = JsonSerializer.Deserialize<JobCounters>((byte[])e.Value!)!;
            else if (name.StartsWith('s') && int.TryParse(name.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture, out var i))
                scenes[i] = JsonSerializer.Deserialize<SceneState>((byte[])e.Value!)!;
        }
        return (scenes, counters);
    }

    /// <summary>
    /// Writes the given scenes' progress and the counters in one round trip, if <paramref name="epoch"/> is still
    /// the job's; otherwise throws <see cref="StaleCoordinatorException"/>.
    /// </summary>
    public async Task Write(string job, int epoch, IReadOnlyList<(int Scene, SceneState State)> scenes, JobCounters counters)
    {
        var args = new List<RedisValue>(3 + 2 * scenes.Count) { epoch, Counters, JsonSerializer.SerializeToUtf8Bytes(counters) };
        foreach (var (i, s) in scenes)
        {
            args.Add(SceneField(i));
            args.Add(JsonSerializer.SerializeToUtf8Bytes(s));
        }
        var written = (int)await (await Db()).ScriptEvaluateAsync(Fenced, [Key(job)], [.. args]);
        if (written != 1) throw new StaleCoordinatorException($"job {job}: this coordinator (activation {epoch}) is no longer the current one");
    }

    public void Dispose()
    {
        if (_redis.IsValueCreated && _redis.Value.IsCompletedSuccessfully) _redis.Value.Result.Dispose();
    }
}

/// <summary>What a job has counted (persisted with its progress, <see cref="ProgressStore"/>).</summary>
internal sealed class JobCounters
{
    public long DuplicatesDropped { get; set; }
    public long Requeued { get; set; }
    public double WorkerSeconds { get; set; }
    public long Items { get; set; }
    public double CallSeconds { get; set; }
    /// <summary>The worker processes (machine/pid) that completed items.</summary>
    public HashSet<string> Workers { get; set; } = [];
}

/// <summary>
/// A coordinator activation whose epoch is not the job's any more: another activation took over. Its callers (the
/// workers' reports) retry and reach the current one.
/// </summary>
internal sealed class StaleCoordinatorException(string message) : HyperUnmixException(message)
{
    public override ErrorKind Kind => ErrorKind.ClusterUnavailable;
}
