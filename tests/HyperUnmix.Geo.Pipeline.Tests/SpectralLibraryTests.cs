using HyperUnmix.Geo.Unmixing.Endmembers;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>
/// The Berlin urban-gradient library as EnMAP-Box ships it (../shared/datasets/spectral_libraries/enmapbox_berlin:
/// 75 spectra, 177 bands in µm, reflectance x 10000, level_1..3 classes) read from each of its formats.
/// </summary>
public sealed class SpectralLibraryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-lib-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string Berlin(string ext)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "HyperUnmix.Geo.sln"))) root = root.Parent;
        var path = Path.GetFullPath(Path.Combine(root!.FullName, "..", "shared", "datasets", "spectral_libraries", "enmapbox_berlin", "library_berlin" + ext));
        Assert.True(File.Exists(path), $"{path} is missing (../shared beside the clone)");
        return path;
    }

    [Fact]
    public void SliWithSidecars_GeoPackage_AndOurCsv_GiveTheSameSpectraNamesAndClasses()
    {
        var sli = SpectralLibraries.Read(Berlin(".sli"));
        var gpkg = SpectralLibraries.Read(Berlin(".gpkg"));
        var csvPath = Path.Combine(_dir, "berlin.csv");
        SpectralLibraries.WriteCsv(csvPath, sli);
        var csv = SpectralLibraries.Read(csvPath);
        var hdr = SpectralLibraries.Read(Berlin(".hdr"));

        Assert.Equal(75, sli.Count);
        Assert.Equal(177, sli.Bands);
        // µm → nm, x10000 → 0-1.
        Assert.Equal(460, sli.Wavelengths![0], 1e-9);
        Assert.Equal(2409, sli.Wavelengths[^1], 1e-9);
        Assert.Equal(5.8, sli.Fwhm![0], 1e-9);
        Assert.InRange(sli.Spectra.SelectMany(s => s).Max(), 0.3, 1.0);
        Assert.Contains("micrometres (from the file)", sli.Units);
        Assert.Contains("x10000 (detected", sli.Units);
        Assert.Equal(["impervious", "vegetation", "soil", "water"], sli.Classes["level_1"].Distinct());
        Assert.Equal("red clay tile 1", sli.Names[0]);
        Assert.Equal((230, 0, 0), ((int, int, int))sli.ClassColours["level_1"]["impervious"]);

        foreach (var other in new[] { gpkg, csv, hdr })
        {
            Assert.Equal(sli.Names, other.Names);
            Assert.Equal(sli.Wavelengths, other.Wavelengths);
            for (var j = 0; j < sli.Count; j++)
                for (var b = 0; b < sli.Bands; b++) Assert.Equal(sli.Spectra[j][b], other.Spectra[j][b], 1e-9);
            foreach (var field in new[] { "level_1", "level_2", "level_3" }) Assert.Equal(sli.Classes[field], other.Classes[field]);
        }
        Assert.Contains("micrometres (from the file)", gpkg.Units);
        Assert.Contains("nanometres (from the file)", csv.Units);
        Assert.Contains("x1 (detected", csv.Units);
    }

    [Fact]
    public void Units_CanBeStated_AndValuesNoUnitExplainsAreRefused()
    {
        var stated = SpectralLibraries.Read(Berlin(".sli"), new LibraryUnits("um", 10000));
        Assert.Contains("(stated)", stated.Units);
        // Stating reflectance 0-1 for a x10000 library is refused, not silently accepted.
        var e = Assert.Throws<EndmemberFileException>(() => SpectralLibraries.Read(Berlin(".sli"), new LibraryUnits(null, 1)));
        Assert.Contains("library_berlin", e.Message);
        Assert.Contains("not reflectance", e.Message);
        // Wavelengths from 50 to 150 are neither µm nor nm.
        var odd = Path.Combine(_dir, "odd.csv");
        File.WriteAllText(odd, "band,wavelength,a,b\n1,50,0.1,0.2\n2,100,0.2,0.3\n3,150,0.3,0.4\n");
        var w = Assert.Throws<EndmemberFileException>(() => SpectralLibraries.Read(odd));
        Assert.Contains("odd.csv", w.Message);
        Assert.Contains("state the unit", w.Message);
    }

    private static string Ecostress(string name, string type, string cls, IEnumerable<(double X, double Y)> rows) => string.Join("\n",
        $"Name: {name}", $"Type: {type}", $"Class: {cls}", "Genus: NA", "Species: NA", "Sample No.: X1", "Owner: test", "Wavelength Range: VSWIR",
        "Origin: test", "Collection Date: N/A", "Description: synthetic", "Measurement: Directional (10 Degree) Hemispherical Reflectance",
        "First Column: X", "Second Column: Y", "X Units: Wavelength (micrometers)", "Y Units: Reflectance (percent)",
        "First X Value: 0.4", "Last X Value: 2.5", "Number of X Values: 211", "Additional Information: none", "",
        string.Join("\n", rows.Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.X:F4}\t{r.Y:F4}")))) + "\n";

    [Fact]
    public void EcostressFolder_GivesNanometresReflectanceAndTypeClassColumns()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "eco")).FullName;
        // a: 0.40-2.50 µm every 10 nm, ascending; b: 0.35-2.45 µm every 5 nm, descending (both orders occur).
        File.WriteAllText(Path.Combine(folder, "a.spectrum.txt"), Ecostress("oak leaf", "vegetation", "tree", Enumerable.Range(0, 211).Select(i => (0.4 + 0.01 * i, 10 + 20 * (0.4 + 0.01 * i)))));
        File.WriteAllText(Path.Combine(folder, "b.spectrum.txt"), Ecostress("dry soil", "soil", "Alfisol", Enumerable.Range(0, 421).Select(i => (2.45 - 0.005 * i, 30.0))));
        var lib = SpectralLibraries.Read(folder);
        Assert.Equal(["oak leaf", "dry soil"], lib.Names);
        Assert.Equal(["vegetation", "soil"], lib.Classes["type"]);
        Assert.Equal(["tree", "Alfisol"], lib.Classes["class"]);
        // The shared range 0.40-2.45 µm on a's grid, in nm; percent → 0-1; b interpolated (a line stays a line).
        Assert.Equal(400, lib.Wavelengths![0], 1e-9);
        Assert.Equal(2450, lib.Wavelengths[^1], 1e-6);
        Assert.Equal(206, lib.Bands);
        for (var b = 0; b < lib.Bands; b++)
        {
            Assert.Equal((10 + 20 * lib.Wavelengths[b] / 1000) / 100, lib.Spectra[0][b], 1e-6);
            Assert.Equal(0.3, lib.Spectra[1][b], 1e-9);
        }
        Assert.Contains("1 of 2 spectra linearly interpolated", lib.Units);
        File.WriteAllText(Path.Combine(folder, "c.spectrum.txt"), "Name: broken\nno colon here\n");
        var e = Assert.Throws<EndmemberFileException>(() => SpectralLibraries.Read(folder));
        Assert.Contains("c.spectrum.txt", e.Message);
    }

    [Fact]
    public void SliSidecar_WithoutARowForASpectrum_IsNamed()
    {
        foreach (var ext in new[] { ".sli", ".hdr" }) File.Copy(Berlin(ext), Path.Combine(_dir, "lib" + ext));
        var rows = File.ReadAllLines(Berlin(".csv"));
        File.WriteAllLines(Path.Combine(_dir, "lib.csv"), rows.Take(rows.Length - 1));
        var e = Assert.Throws<EndmemberFileException>(() => SpectralLibraries.Read(Path.Combine(_dir, "lib.sli")));
        Assert.Contains("lib.csv", e.Message);
        Assert.Contains("water 2", e.Message);
    }
}
