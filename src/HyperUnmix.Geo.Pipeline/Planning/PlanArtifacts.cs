using System.Security.Cryptography;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// What a method computed once per scene beyond the plan's numbers: a deep model.
/// A local run keeps them in memory; a plan for runners elsewhere names their files with SHA-256 (<see cref="Save"/>,
/// <see cref="Load"/>).
/// </summary>
internal sealed record PlanArtifacts(MtlModel? Model)
{
    public static readonly PlanArtifacts None = new((MtlModel?)null);

    /// <summary>
    /// Writes the artifacts into <paramref name="folder"/> and returns the plan naming them: the model when this run
    /// fitted it (<paramref name="writesModel"/>; a given model file is named as it is).
    /// </summary>
    public UnmixPlan Save(UnmixPlan plan, string folder, bool writesModel)
    {
        if (writesModel && Model is { } model)
        {
            var file = Path.Combine(Path.GetFullPath(folder), "model.json");
            EndmemberFiles.WriteAtomically(file, model.ToBytes());
            plan = plan with { ModelFile = file, ModelSha256 = UnmixPlan.Sha256(file) };
        }
        return plan;
    }

    /// <summary>
    /// The artifacts a plan names, each refused unless its SHA-256 is the plan's: a tile must never be computed with
    /// other parameters than its neighbours.
    /// </summary>
    public static PlanArtifacts Load(UnmixPlan plan)
    {
        var model = plan.ModelFile is null ? null : MtlModel.FromBytes(Checked(plan.ModelFile, plan.ModelSha256, "model"), plan.ModelFile);
        return new PlanArtifacts(model);
    }

    private static byte[] Checked(string path, string? sha, string what)
    {
        if (sha is null) throw new InvalidOperationException($"the plan names no SHA-256 for its {what} file");
        if (!File.Exists(path)) throw new RasterDataException(path, $"{what} file of the plan not found");
        var bytes = File.ReadAllBytes(path);
        if (!Convert.ToHexStringLower(SHA256.HashData(bytes)).Equals(sha, StringComparison.Ordinal))
            throw new RasterDataException(path, $"{what} file changed since planning (SHA-256 differs)");
        return bytes;
    }
}
