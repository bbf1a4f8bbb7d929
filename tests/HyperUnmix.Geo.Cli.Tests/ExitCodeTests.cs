using HyperUnmix.Geo.Cluster;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Pipeline;
using HyperUnmix.Geo.Raster;
using HyperUnmix.Geo.Unmixing.Deep;
using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Mesma;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>Every error the library raises on purpose has one root, and its kind is the documented exit code.</summary>
public sealed class ExitCodeTests
{
    [Fact]
    public void EveryExceptionTypeOfTheLibrary_DerivesFromHyperUnmixException()
    {
        Type[] anchors = [typeof(GdalException), typeof(RasterDataException), typeof(EndmemberFileException), typeof(UnmixOptions), typeof(ClusterException), typeof(ExitCodes)];
        var exceptions = anchors.Select(t => t.Assembly).Distinct().SelectMany(a => a.GetTypes())
            .Where(t => typeof(Exception).IsAssignableFrom(t)).ToList();
        Assert.True(exceptions.Count >= 14, string.Join(", ", exceptions.Select(t => t.Name)));
        Assert.All(exceptions, t => Assert.True(typeof(HyperUnmixException).IsAssignableFrom(t), $"{t.FullName} does not derive from HyperUnmixException"));
    }

    public static TheoryData<Exception, int> Cases => new()
    {
        // The codes the README documents, for each error type (as they were before the root existed).
        { new UsageException("--tile must be positive"), 2 },
        { new MesmaException("class 'x' has no spectra"), 2 },
        { new OutputConflictException("a.tif", "is also an input"), 2 },
        { new ClusterSecretException("no secret"), 2 },
        { new ArgumentException("from a framework call"), 2 },
        { new RasterDataException("a.tif", "no valid pixel"), 3 },
        { new EndmemberFileException("e.csv", "bad number"), 3 },
        { new MtlModelException("m.json", "format 5"), 3 },
        { new GdalOpenException("not a raster", "x.txt"), 3 },
        { new ClusterJobFailedException("scene 2 failed"), 3 },
        { new RasterOutputException("out.tif", "exists"), 4 },
        { new IOException("disk full"), 4 },
        { new ClusterException("Redis not reachable"), 5 },
        { new GdalNotInstalledException("libgdal not found"), 1 },
        { new InvalidOperationException("a bug"), 1 },
        { new OperationCanceledException(), 130 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kind_IsTheExitCode(Exception e, int code)
    {
        var (got, message) = ExitCodes.Classify(e);
        Assert.Equal(code, got);
        if (e is HyperUnmixException h) Assert.Equal((int)h.Kind, got);
        if (code == 1 && e is not HyperUnmixException) Assert.StartsWith("internal error: InvalidOperationException", message);
    }
}
