namespace HyperUnmix.Geo.Cli;

internal static partial class Commands
{
    /// <summary>
    /// Developer aid, hidden from the help: prints the QGIS plugin's choices module, generated from the registries
    /// (<c>hyperunmix plugin-choices &gt; plugins/qgis/hyperunmix/choices.py</c>); a test checks the committed file.
    /// </summary>
    private static Command PluginChoices()
    {
        var cmd = new Command("plugin-choices", "Print the QGIS plugin's choices.py, generated from the method and extractor registries.") { Hidden = true };
        cmd.SetAction(_ =>
        {
            Console.Out.Write(UnmixChoices.PluginModule());
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
