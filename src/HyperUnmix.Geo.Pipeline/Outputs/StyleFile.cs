using System.Globalization;
using System.Security;
using System.Text;

namespace HyperUnmix.Geo.Pipeline;

/// <summary>
/// A QGIS style (.qml) for the abundance raster: the first three endmembers as red, green and blue, each
/// stretched over [0, 1], with nodata transparent. Saved as &lt;raster&gt;.qml, QGIS applies it on load.
/// </summary>
internal static class StyleFile
{
    /// <param name="classColours">For class fractions (MESMA): {"class": "#rrggbb", ...}, kept as a property the QGIS plugin reads.</param>
    public static void Write(string path, IReadOnlyList<string> endmemberNames, float noData, string? classColours = null)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n");
        sb.Append("<qgis version=\"3.22.0\" styleCategories=\"AllStyleCategories\">\n  <pipe>\n");
        sb.Append("    <rasterrenderer type=\"multibandcolor\" opacity=\"1\" alphaBand=\"-1\"");
        string[] channels = ["redBand", "greenBand", "blueBand"];
        for (var i = 0; i < 3; i++)
            sb.Append(CultureInfo.InvariantCulture, $" {channels[i]}=\"{Math.Min(i + 1, endmemberNames.Count)}\"");
        sb.Append(">\n");
        sb.Append("      <rasterTransparency/>\n");
        foreach (var c in new[] { "red", "green", "blue" })
            sb.Append(CultureInfo.InvariantCulture, $"      <{c}ContrastEnhancement><minValue>0</minValue><maxValue>1</maxValue><algorithm>StretchToMinimumMaximum</algorithm></{c}ContrastEnhancement>\n");
        sb.Append("    </rasterrenderer>\n");
        sb.Append("    <brightnesscontrast brightness=\"0\" contrast=\"0\"/>\n  </pipe>\n");
        sb.Append("  <customproperties>\n");
        sb.Append(CultureInfo.InvariantCulture, $"    <property key=\"hyperunmix/endmembers\" value=\"{SecurityElement.Escape(string.Join(",", endmemberNames))}\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"    <property key=\"hyperunmix/nodata\" value=\"{noData.ToString(CultureInfo.InvariantCulture)}\"/>\n");
        if (classColours is not null) sb.Append(CultureInfo.InvariantCulture, $"    <property key=\"hyperunmix/class_colours\" value=\"{SecurityElement.Escape(classColours)}\"/>\n");
        sb.Append("  </customproperties>\n</qgis>\n");
        Unmixing.Endmembers.EndmemberFiles.WriteAtomically(path, Encoding.UTF8.GetBytes(sb.ToString()));
    }
}
