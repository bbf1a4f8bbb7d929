using HyperUnmix.Geo.Unmixing.Solvers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>An exact linear solver: nothing to fit; one pass over each pixel's spectrum (<see cref="AbundanceSolver"/>).</summary>
internal sealed class LinearUnmixMethod(string name, LinearMethod solver, string description, string label) : IUnmixMethod
{
    public string Name => name;
    public string Description => description;
    public string Label => label;
    /// <summary>None: the classic solvers stay what their names say.</summary>
    public PixelScale DefaultScale => PixelScale.None;
    public bool FitsModel => false;
    public string? Parameters(UnmixOptions o) => null;

    public MethodPlan Plan(MethodPlanning planning)
    {
        var o = planning.Options;
        var endmembers = o.Method.EffectiveNormalize == PixelScale.L2 ? planning.Endmembers.UnitLength() : planning.Endmembers;
        return new MethodPlan(endmembers, PlanArtifacts.None, null);
    }

    /// <summary>The plan's endmembers are already unit-length under l2.</summary>
    public ITileUnmixer CreateUnmixer(UnmixPlan plan, PlanArtifacts artifacts, CancellationToken cancel) =>
        new LinearTileUnmixer(new AbundanceSolver(plan.Endmembers.ToSet(), solver, scale: plan.Options.Method.EffectiveNormalize));
}
