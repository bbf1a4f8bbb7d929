using Orleans.GrainDirectory;

namespace HyperUnmix.Geo.Cluster;

[GenerateSerializer]
internal sealed class RegistryState
{
    [Id(0)] public List<string> Jobs { get; set; } = [];
}

/// <summary>The jobs with work left, persisted so that workers started after a full restart find them.</summary>
[GrainDirectory(GrainDirectoryName = ClusterSetup.Directory)]
internal sealed class JobRegistryGrain([PersistentState("registry", ClusterSetup.Storage)] IPersistentState<RegistryState> state) : Grain, IJobRegistryGrain
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
