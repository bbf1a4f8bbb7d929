using System.Reflection;
using HyperUnmix.Geo.Pipeline;

namespace HyperUnmix.Geo.Cli.Tests;

/// <summary>The one table from the library's option names to the command's flags.</summary>
public sealed class OptionFlagsTests
{
    [Fact]
    public void EveryOptionPath_HasAnEntry()
    {
        var paths = typeof(OptionPath).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.True(paths.Count >= 30);
        Assert.All(paths, p => Assert.Contains(p, OptionFlags.Known));
        Assert.Null(OptionFlags.Flag(OptionPath.Input));
        Assert.Equal("--threads", OptionFlags.Flag(OptionPath.Threads));
    }

    [Fact]
    public void Rewrite_ReplacesWholePathsOnly()
    {
        Assert.Equal("--scale 2: leave --scale out (--nodata, Scene.InputNoDataX, a.Scene.Masks)",
            OptionFlags.Rewrite("Scene.InputScale 2: leave Scene.InputScale out (Scene.InputNoData, Scene.InputNoDataX, a.Scene.Masks)"));
        Assert.Equal("/data/Execution.Threads.tif: --threads", OptionFlags.Rewrite("/data/Execution.Threads.tif: Execution.Threads"));
    }

    [Fact]
    public void UsageErrors_ReachTheUserWithTheirFlags()
    {
        Assert.Equal((2, "--threads must be at least 1, got 0"), ExitCodes.Classify(new UsageException(OptionPath.Threads, $"{OptionPath.Threads} must be at least 1, got 0")));
        Assert.Equal((2, "-o: the output path is empty"), ExitCodes.Classify(new UsageException(OptionPath.Output, "the output path is empty")));
        Assert.Equal((2, "the input scene path is empty"), ExitCodes.Classify(new UsageException(OptionPath.Input, "the input scene path is empty")));
    }
}
