using HyperUnmix.Geo.Unmixing.LinearAlgebra;

namespace HyperUnmix.Geo.Unmixing.Tests;

/// <summary>Every BLAS back-end, so every numeric test runs on each (OpenBLAS must be installed: the set-up installs it).</summary>
internal static class Backends
{
    public static IBlas OpenBlasOrFail() =>
        OpenBlas.TryLoad() ?? throw new InvalidOperationException("OpenBLAS (libopenblas.so.0) is not installed; run the README's set-up command");

    public static TheoryData<string> Names => new() { "openblas", "managed", "reproducible" };

    public static IBlas Get(string name) => name switch
    {
        "managed" => new ManagedBlas(),
        "reproducible" => ReproducibleBlas.Instance,
        _ => OpenBlasOrFail(),
    };
}
