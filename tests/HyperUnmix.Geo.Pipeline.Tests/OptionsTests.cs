using System.Text.Json;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>The options by concern: errors name their properties, and a plan carries no machine's execution settings.</summary>
[Collection("sample")]
public sealed class OptionsTests(SampleScene s)
{
    private UnmixOptions Fcls(string output) => new()
    {
        Scene = new SceneInput { Input = s.Tif },
        Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers },
        Method = new MethodOptions { Name = UnmixMethod.Fcls },
        Outputs = new OutputOptions { Output = output, SideOutputs = false },
    };

    [Fact]
    public void InvalidOption_NamesItsProperty_NotAFlag()
    {
        var o = Fcls(Path.Combine(s.NewDir(), "a.tif"));
        var threads = Assert.Throws<UsageException>(() => UnmixJob.Run(o with { Execution = o.Execution with { Threads = 0 } }));
        Assert.Equal("Execution.Threads", threads.Option);
        Assert.Equal("Execution.Threads must be at least 1, got 0", threads.Message);

        // A detail that does not name its option reads "option: detail".
        var output = Assert.Throws<UsageException>(() => UnmixJob.Run(o with { Outputs = o.Outputs with { Output = " " } }));
        Assert.Equal(OptionPath.Output, output.Option);
        Assert.Equal("the output path is empty", output.Detail);
        Assert.Equal("Outputs.Output: the output path is empty", output.Message);

        var both = Assert.Throws<UsageException>(() => UnmixJob.Run(o with { Endmembers = o.Endmembers with { EndmemberCount = 3 } }));
        Assert.Equal("give either Endmembers.EndmembersFile or Endmembers.EndmemberCount, not both", both.Message);
        foreach (var e in new[] { threads, output, both }) Assert.DoesNotContain("--", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_CarriesTheTileSize_ButNotThisMachinesThreadsOrMemory()
    {
        var dir = s.NewDir();
        var o = Fcls(Path.Combine(dir, "a.tif"));
        var plan = UnmixJob.PlanScene(o with { Execution = new ExecutionOptions { TileSize = 64, Threads = 3, MemoryBytes = 123L << 20 } }, dir);
        var json = JsonDocument.Parse(plan.ToJson()).RootElement;
        var execution = json.GetProperty(nameof(UnmixPlan.Options)).GetProperty(nameof(UnmixOptions.Execution));
        Assert.Equal(64, execution.GetProperty(nameof(ExecutionOptions.TileSize)).GetInt32());
        Assert.False(execution.TryGetProperty(nameof(ExecutionOptions.Threads), out _));
        Assert.False(execution.TryGetProperty(nameof(ExecutionOptions.MemoryBytes), out _));
        Assert.DoesNotContain("Threads", json.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("MemoryBytes", json.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(64, plan.TileSize);

        // Read back, the plan's options have the reading machine's defaults, and the rest as written.
        var loaded = UnmixPlan.Load(plan.ToJson(), "plan.json");
        Assert.Equal(new ExecutionOptions().Threads, loaded.Options.Execution.Threads);
        Assert.Equal(new ExecutionOptions().MemoryBytes, loaded.Options.Execution.MemoryBytes);
        Assert.Equal(64, loaded.Options.Execution.TileSize);
        Assert.Equal(plan.Options.Outputs, loaded.Options.Outputs);
        Assert.Equal(plan.Options.Scene.Input, loaded.Options.Scene.Input);
    }

    /// <summary>
    /// The Raster assembly sits below the options and names the ones its errors concern by string (its OptionNames):
    /// each must be the path OptionPath derives from the records, or a renamed property leaves a stale name behind.
    /// </summary>
    [Fact]
    public void RasterOptionNames_AreTheOptionPaths()
    {
        Assert.Equal(OptionPath.InputNoData, Raster.OptionNames.NoData);
        Assert.Equal(OptionPath.NanAsNoData, Raster.OptionNames.NanAsNoData);
        Assert.Equal(OptionPath.Masks, Raster.OptionNames.Masks);
        Assert.Equal(OptionPath.Output, Raster.OptionNames.Output);
        Assert.Equal(OptionPath.Overwrite, Raster.OptionNames.Overwrite);
    }
}
