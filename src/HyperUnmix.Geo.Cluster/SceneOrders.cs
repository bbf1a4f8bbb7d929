using System.Text.Json;
using HyperUnmix.Geo.Pipeline;

namespace HyperUnmix.Geo.Cluster;

/// <summary>
/// What a job asks of each scene, as the JSON its coordinator stores and hands to the scene's planner: an unmixing
/// run (the <see cref="UnmixOptions"/> themselves) or a MESMA run (<c>{"Mesma": MesmaOptions}</c>). Both name the
/// scene's input and output, which the coordinator reads for its status. Neither carries threads or memory
/// (<see cref="ExecutionOptions"/>): the worker that plans a scene applies its own.
/// </summary>
internal static class SceneOrders
{
    private sealed record MesmaOrder(MesmaOptions Mesma);

    public static string Unmix(UnmixOptions o) => JsonSerializer.Serialize(o, UnmixPlan.JsonOptions);

    public static string Mesma(MesmaOptions mo) => JsonSerializer.Serialize(new MesmaOrder(mo), UnmixPlan.JsonOptions);

    /// <summary>The scene's MESMA options, or null for an unmixing run.</summary>
    public static MesmaOptions? AsMesma(string json) => JsonSerializer.Deserialize<MesmaOrder>(json, UnmixPlan.JsonOptions)?.Mesma;

    public static UnmixOptions AsUnmix(string json) => JsonSerializer.Deserialize<UnmixOptions>(json, UnmixPlan.JsonOptions)!;

    /// <summary>The scene's input and output paths.</summary>
    public static (string Input, string Output) Files(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var scene = doc.RootElement.TryGetProperty(nameof(MesmaOrder.Mesma), out var m) ? m.GetProperty(nameof(MesmaOptions.Scene)) : doc.RootElement;
        return (scene.GetProperty(nameof(UnmixOptions.Scene)).GetProperty(nameof(SceneInput.Input)).GetString()!,
            scene.GetProperty(nameof(UnmixOptions.Outputs)).GetProperty(nameof(OutputOptions.Output)).GetString()!);
    }
}
