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
        var path = Repo.Dataset("spectral_libraries/enmapbox_berlin/library_berlin" + ext);
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

    /// <summary>A splib07 ASCII file as the USGS release writes it: the title line, then one value per line.</summary>
    private static void Splib07(string path, string title, IEnumerable<double> values)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, title + "\n" + string.Concat(values.Select(v => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{v,14:E5}\n"))));
    }

    [Fact]
    public void UsgsSplib07Folder_MatchesEachSpectrumToItsWavelengthFile_DropsDeletedChannels_ChapterClasses()
    {
        // The release's layout: wavelength and bandpass files at the top, spectra in ChapterX_Name folders.
        var root = Path.Combine(_dir, "ASCIIdata_splib07a");
        double Beck(int i) => 0.30 + 0.01 * i;   // 200 channels, 0.30-2.29 µm
        double Asd(int i) => 0.35 + 0.01 * i;    // 216 channels, 0.35-2.50 µm
        Splib07(Path.Combine(root, "splib07a_Wavelengths_BECK_Beckman_0.2-3.0_microns.txt"), "splib07a Record=6: Wavelengths BECK Beckman 0.2-3.0 microns", Enumerable.Range(0, 200).Select(Beck));
        Splib07(Path.Combine(root, "splib07a_Bandpass_(FWHM)_BECK_Beckman_um.txt"), "splib07a Record=7: Bandpass (FWHM) BECK Beckman um", Enumerable.Range(0, 200).Select(i => 0.005 + 0.0001 * i));
        Splib07(Path.Combine(root, "splib07a_Wavelengths_ASD_0.35-2.5_microns_2151_ch.txt"), "splib07a Record=1: Wavelengths ASD 0.35-2.5 microns 2151 ch", Enumerable.Range(0, 216).Select(Asd));
        // Kaolinite: a line in wavelength, channel 60 deleted (-1.23e34) as the release marks it.
        var kaolinite = Path.Combine(root, "ChapterM_Minerals", "splib07a_Kaolinite_CM9_BECKb_AREF.txt");
        Splib07(kaolinite, "splib07a Record=4742: Kaolinite CM9                BECKb AREF", Enumerable.Range(0, 200).Select(i => i == 60 ? -1.23e34 : 0.2 + 0.1 * Beck(i)));
        Splib07(Path.Combine(root, "ChapterV_Vegetation", "splib07a_Grass_Golden_Dry_GDS480_ASDFRa_AREF.txt"), "splib07a Record=10923: Grass_Golden_Dry GDS480 ASDFRa AREF",
            Enumerable.Range(0, 216).Select(i => 0.5 - 0.1 * Asd(i)));
        var lib = SpectralLibraries.Read(root);
        Assert.Equal(["Kaolinite CM9 BECKb AREF", "Grass_Golden_Dry GDS480 ASDFRa AREF"], lib.Names);
        Assert.Equal(["Minerals", "Vegetation"], lib.Classes["chapter"]);
        // Kaolinite's channels inside the shared 0.35-2.29 µm, less the deleted one, in nm; the grass interpolated onto them.
        Assert.Equal(195 - 1, lib.Bands);
        Assert.Equal(350, lib.Wavelengths![0], 1e-6);
        Assert.Equal(2290, lib.Wavelengths[^1], 1e-6);
        Assert.DoesNotContain(lib.Wavelengths, w => Math.Abs(w - 900) < 1e-6);
        for (var b = 0; b < lib.Bands; b++)
        {
            Assert.Equal(0.2 + 0.1 * lib.Wavelengths[b] / 1000, lib.Spectra[0][b], 1e-6);
            Assert.Equal(0.5 - 0.1 * lib.Wavelengths[b] / 1000, lib.Spectra[1][b], 1e-6);
        }
        Assert.Null(lib.Fwhm); // an interpolated spectrum has no bandpass of its own
        Assert.Contains("micrometres (from the file)", lib.Units);
        Assert.Contains("1 of 2 spectra linearly interpolated", lib.Units);
        Assert.Contains("1 deleted channels", lib.Units);

        // One file alone: its wavelengths and bandpasses come from the folder above; nothing interpolated, so FWHM is kept.
        var one = SpectralLibraries.Read(kaolinite);
        Assert.Equal(199, one.Bands);
        Assert.Equal(300, one.Wavelengths![0], 1e-6);
        Assert.Equal(5.0, one.Fwhm![0], 1e-9);        // 0.005 µm in nm
        Assert.Equal(5 + 0.1 * 61, one.Fwhm[60], 1e-9); // channel 61: channel 60 was deleted

        // A spectrum with no wavelengths file of its length is named, with what was found.
        var odd = Path.Combine(root, "ChapterS_SoilsAndMixtures", "splib07a_Odd_X1_NIC4aa_RREF.txt");
        Splib07(odd, "splib07a Record=99: Odd X1 NIC4aa RREF", Enumerable.Range(0, 300).Select(_ => 0.3));
        var e = Assert.Throws<EndmemberFileException>(() => SpectralLibraries.Read(root));
        Assert.Contains("splib07a_Odd_X1_NIC4aa_RREF.txt", e.Message);
        Assert.Contains("no splib07 wavelengths file with 300 values", e.Message);
        Assert.Contains("216, 200", e.Message);
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
