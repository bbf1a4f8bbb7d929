using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HyperUnmix.Geo.Cluster;

/// <summary>Submits jobs to a running cluster and follows them (the <c>hyperunmix cluster</c> commands).</summary>
internal sealed class ClusterClient : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly IClusterClient _client;

    private ClusterClient(IHost host)
    {
        _host = host;
        _client = host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>
    /// How long a command waits for a gateway when the membership table lists workers (none listed: it says so at
    /// once). 30 s was too short on a loaded machine: right after the coordinator's silo was killed, with both cores
    /// busy and a test run beside them, `cluster wait` did not connect within 30 s to the two live workers (1 of 2
    /// loaded runs of the test suite).
    /// </summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(90);

    public static async Task<ClusterClient> Connect(ClusterAddress cluster, bool verbose, CancellationToken cancel)
    {
        ClusterSetup.CheckRedis(cluster);
        if (ClusterSetup.ActiveWorkers(cluster) == 0)
            throw new ClusterException($"no worker of cluster {cluster.Name} has joined at Redis {cluster.Display} (start one with: hyperunmix worker --redis {cluster.Display} --cluster {cluster.Name})");
        await TlsProbe.Check(cluster, "command", gateway: true, cancel);
        var host = Host.CreateDefaultBuilder()
            .UseOrleansClient(c => ClusterSetup.ConfigureClient(c, cluster))
            .ConfigureLogging(l => ClusterSetup.ConfigureLogging(l, verbose))
            .Build();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(ConnectTimeout);
            await host.StartAsync(timeout.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
        {
            host.Dispose();
            throw new ClusterException($"no worker of cluster {cluster.Name} answers at Redis {cluster.Display} within {ConnectTimeout.TotalSeconds:F0} s (start one with: hyperunmix worker --redis {cluster.Display} --cluster {cluster.Name})", e);
        }
        return new ClusterClient(host);
    }

    /// <summary>
    /// Submits a job, or re-attaches to it when it exists with the same scenes and options (it then resumes).
    /// Inputs and outputs are checked here first, so a bad scene or an existing output is refused before any work.
    /// </summary>
    public Task<JobStatus> Submit(string job, string outDir, IReadOnlyList<UnmixOptions> scenes, CancellationToken cancel) =>
        Submit(job, outDir, scenes.Select(o => (SceneOrders.Unmix(o), (Action)(() => UnmixJob.CheckOutputs(o)))).ToList(), cancel);

    /// <summary>As <see cref="Submit(string, string, IReadOnlyList{UnmixOptions}, CancellationToken)"/>, for MESMA runs: one plan (the library matched to the scene) per scene.</summary>
    public Task<JobStatus> SubmitMesma(string job, string outDir, IReadOnlyList<MesmaOptions> scenes, CancellationToken cancel) =>
        Submit(job, outDir, scenes.Select(o => (SceneOrders.Mesma(o), (Action)(() => MesmaJob.CheckOutputs(o)))).ToList(), cancel);

    /// <summary>Each scene's order (<see cref="SceneOrders"/>) and the check of its input and outputs.</summary>
    private async Task<JobStatus> Submit(string job, string outDir, IReadOnlyList<(string Json, Action Check)> scenes, CancellationToken cancel)
    {
        var grain = _client.GetGrain<IJobGrain>(job);
        var existing = await grain.Status().WaitAsync(cancel);
        if (existing.State == "unknown")
        {
            foreach (var (_, check) in scenes) check();
        }
        else if (existing.State == "done" && existing.Scenes.FirstOrDefault(x => !File.Exists(x.Output)) is { } gone)
        {
            // Re-attaching to a finished job would report outputs that were removed since as done.
            throw new RasterOutputException(gone.Output,
                $"no longer exists, though job {job} wrote it when it finished; a job keeps its result: submit under a new --job name to write the outputs again");
        }
        else if (existing.State == "failed")
        {
            // A job keeps its result: submitting it again re-attaches to the failure, whatever was fixed since. Say
            // so, and how to run it again, rather than quote an error the data may no longer have.
            var failed = existing.Scenes.Where(x => x.Error is not null).ToArray();
            throw new ClusterJobFailedException(
                $"job {job} already ran and failed for {failed.Length} of {existing.Scenes.Length} scenes (first: {failed[0].Input}: {failed[0].Error!.ReplaceLineEndings(" ")}); " +
                "a job keeps its result: after fixing the data, submit under a new --job name");
        }
        var spec = new JobSpec
        {
            Name = job,
            OutDir = Path.GetFullPath(outDir),
            SceneOptions = scenes.Select(x => x.Json).ToArray(),
        };
        try
        {
            return await grain.Submit(spec).WaitAsync(cancel);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public Task<JobStatus> Status(string job) => _client.GetGrain<IJobGrain>(job).Status();

    public Task<JobStatus> Cancel(string job) => _client.GetGrain<IJobGrain>(job).Cancel();

    /// <summary>Polls until the job finishes, reporting each change.</summary>
    public async Task<JobStatus> Wait(string job, Action<JobStatus>? report, CancellationToken cancel)
    {
        var grain = _client.GetGrain<IJobGrain>(job);
        string? last = null;
        while (true)
        {
            JobStatus s;
            try { s = await grain.Status().WaitAsync(cancel); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The coordinator is moving after a worker died: ask again.
                await Task.Delay(500, cancel);
                continue;
            }
            if (s.State == "unknown") throw new UsageException($"no job named {job} in this cluster");
            var line = Summary(s);
            if (line != last) report?.Invoke(s);
            last = line;
            if (s.Finished) return s;
            await Task.Delay(250, cancel);
        }
    }

    public static string Summary(JobStatus s)
    {
        int done = s.Scenes.Count(x => x.Phase == "done"), failed = s.Scenes.Count(x => x.Phase == "failed");
        long tiles = s.Scenes.Sum(x => (long)x.Tiles), tilesDone = s.Scenes.Sum(x => (long)x.TilesDone);
        return $"job {s.Name}: {s.State}; scenes {done}/{s.Scenes.Length} done{(failed > 0 ? $", {failed} failed" : "")}; tiles {tilesDone}/{tiles}; " +
               $"{s.DuplicatesDropped} duplicates dropped, {s.Requeued} requeued, coordinator activations {s.Activations}";
    }

    public async ValueTask DisposeAsync()
    {
        try { await _host.StopAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { /* leaving anyway */ }
        _host.Dispose();
    }
}

/// <summary>Submitting again a job that already failed (exit 3: the data was bad when it ran).</summary>
internal sealed class ClusterJobFailedException(string message) : HyperUnmixException(message)
{
    /// <summary>A scene of the job failed: its inputs, as a local run would have said.</summary>
    public override ErrorKind Kind => ErrorKind.BadInput;
}
