using HyperUnmix.Geo.Unmixing.Endmembers;
using HyperUnmix.Geo.Unmixing.Synthetic;

namespace HyperUnmix.Geo.Unmixing.Tests.Endmembers;

public sealed class EndmemberFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hu-em-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static EndmemberSet Sample()
    {
        var wl = SyntheticSpectra.Wavelengths(40);
        return EndmemberSet.FromSpectra(SyntheticSpectra.Create(3, wl), ["vegetation", "soil, dry", "water"], wl);
    }

    [Fact]
    public void Csv_RoundTrip_KeepsSpectraNamesAndWavelengths()
    {
        var s = Sample();
        var path = Path.Combine(_dir, "e.csv");
        EndmemberFiles.WriteCsv(path, s);
        var r = EndmemberFiles.Load(path);
        Assert.Equal(s.Names, r.Names);
        Assert.Equal(s.Wavelengths, r.Wavelengths);
        Assert.Equal(s.E, r.E);
    }

    [Fact]
    public void EnviLibrary_RoundTrip_KeepsSpectraAtFloatPrecision()
    {
        var s = Sample();
        var path = Path.Combine(_dir, "e.sli");
        EndmemberFiles.WriteEnviLibrary(path, s);
        var r = EndmemberFiles.Load(path);
        Assert.Equal(3, r.Count);
        Assert.Equal("water", r.Names[2]);
        for (var i = 0; i < s.E.Length; i++) Assert.Equal(s.E[i], r.E[i], 1e-6);
        Assert.NotNull(r.Wavelengths);
    }

    [Fact]
    public void EnviLibrary_BigEndianDouble_IsDecoded()
    {
        // Written by hand as other tools do: byte order = 1, data type 5 (float64), two spectra of three bands.
        double[] values = [0.1, 0.2, 0.3, 0.9, 0.8, 0.7];
        var bytes = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteDoubleBigEndian(bytes.AsSpan(i * 8), values[i]);
        var sli = Path.Combine(_dir, "be.sli");
        File.WriteAllBytes(sli, bytes);
        File.WriteAllText(Path.ChangeExtension(sli, ".hdr"),
            "ENVI\nsamples = 3\nlines = 2\nbands = 1\nheader offset = 0\nfile type = ENVI Spectral Library\ndata type = 5\n" +
            "interleave = bsq\nbyte order = 1\nspectra names = {a, b}\nwavelength = {400, 500, 600}\n");
        var r = EndmemberFiles.Load(sli);
        Assert.Equal(["a", "b"], r.Names);
        Assert.Equal([0.1, 0.2, 0.3], r.Spectrum(0));
        Assert.Equal([0.9, 0.8, 0.7], r.Spectrum(1));
    }

    [Fact]
    public void MatchScene_WrongBandCount_NamesTheFileAndOffersResampling()
    {
        var s = Sample();
        var ex = Assert.Throws<EndmemberFileException>(() => EndmemberFiles.MatchScene(s, "lib.csv", 30, SyntheticSpectra.Wavelengths(30, 450, 2400), false));
        Assert.Contains("lib.csv", ex.Message);
        Assert.Contains("pass Endmembers.Resample to interpolate", ex.Message); // the option, by property (the command says --resample)
        var r = EndmemberFiles.MatchScene(s, "lib.csv", 30, SyntheticSpectra.Wavelengths(30, 450, 2400), true);
        Assert.Equal(30, r.Bands);
        // Linear interpolation is exact at the library's own wavelengths and between them for linear spectra.
        var soil = SyntheticSpectra.Create("water", SyntheticSpectra.Wavelengths(30, 450, 2400));
        for (var i = 0; i < 30; i++) Assert.Equal(soil[i], r.Spectrum(2)[i], 3e-3);
    }

    [Fact]
    public void MatchScene_WithoutWavelengthsAndWrongCount_Throws()
    {
        var s = EndmemberSet.FromSpectra(SyntheticSpectra.Create(2, SyntheticSpectra.Wavelengths(20)));
        Assert.Throws<EndmemberFileException>(() => EndmemberFiles.MatchScene(s, "x.csv", 21, null, true));
    }

    [Theory]
    [InlineData("-0", "0", "soil")]
    [InlineData("0.5", "0", "blank")]
    [InlineData("0", "0.7", "soil")]
    public void Load_AllZeroSpectrum_IsRefusedByName(string soil2, string blank2, string refused)
    {
        var path = Path.Combine(_dir, "zero.csv");
        File.WriteAllText(path, $"band,soil,blank,grass\n1,0,0,0.1\n2,{soil2},{blank2},0.4\n3,0,0,0.2\n");
        var ex = Assert.Throws<EndmemberFileException>(() => EndmemberFiles.Load(path));
        Assert.StartsWith(path + ":", ex.Message);
        Assert.Contains($"'{refused}'", ex.Message);
        Assert.Contains("zero", ex.Message);
    }

    [Theory]
    [InlineData("1e308")]
    [InlineData("-1e200")]
    [InlineData("1e160")]
    public void Load_ValuesWhoseGramMatrixOverflows_AreRefusedAsAFileError(string huge)
    {
        var path = Path.Combine(_dir, "huge.csv");
        File.WriteAllText(path, $"band,a,b\n1,0.1,0.2\n2,{huge},0.3\n3,0.5,0.1\n");
        var ex = Assert.Throws<EndmemberFileException>(() => EndmemberFiles.Load(path));
        Assert.StartsWith(path + ":", ex.Message);
        Assert.Contains("'a'", ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
    }

    [Fact]
    public void ReadCsv_NonNumericCell_NamesFileAndLine()
    {
        var path = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(path, "band,a,b\n1,0.1,0.2\n2,0.3,oops\n");
        var ex = Assert.Throws<EndmemberFileException>(() => EndmemberFiles.Load(path));
        Assert.Contains("bad.csv", ex.Message);
        Assert.Contains("line 3", ex.Message);
    }

    [Fact]
    public void Load_UsgsLibrarySelection_PicksNamedSpectra()
    {
        var path = Path.Combine(_dir, "lib.csv");
        File.WriteAllText(path, "channel,wavelength_nm,fwhm_nm,A,B,C\n1,400,10,0.1,0.5,0.2\n2,500,10,0.2,0.4,0.9\n3,600,10,0.3,0.1,0.3\n");
        var r = EndmemberFiles.Load(path, ["C", "A"]);
        Assert.Equal(["C", "A"], r.Names);
        Assert.Equal([400.0, 500, 600], r.Wavelengths!);
        Assert.Equal(0.9, r.Spectrum(0)[1]);
    }

    /// <summary>
    /// Reliability round 2, items 10, 11 and 13: damaged .sli headers were internal errors (FormatException,
    /// OverflowException), .NET's text ("Specified argument was out of the range") or a wrong number (an int overflow
    /// said a 50000 x 50000 library "needs 1410065408 bytes").
    /// </summary>
    [Theory]
    [InlineData("header offset = abc", "'header offset' is 'abc', expected a whole number of at least 0")]
    [InlineData("header offset = -8", "'header offset' is '-8', expected a whole number of at least 0")]
    [InlineData("samples = -1", "'samples' is '-1', expected a whole number of at least 1")]
    [InlineData("wavelength = {400, abc, 600}", "'wavelength' holds 'abc', not a number")]
    [InlineData("samples = 50000\nlines = 50000", "describes 50000 spectra of 50000 bands (20,000,000,000 bytes)")]
    public void DamagedSliHeaders_AreBadInputNamingTheItem(string item, string expected)
    {
        var sli = Path.Combine(_dir, "lib.sli");
        File.WriteAllBytes(sli, new byte[2 * 3 * 8]);
        var lines = new Dictionary<string, string>
        {
            ["samples"] = "3", ["lines"] = "2", ["bands"] = "1", ["header offset"] = "0", ["data type"] = "5", ["byte order"] = "0",
            ["wavelength"] = "{400, 500, 600}",
        };
        foreach (var l in item.Split('\n'))
        {
            var kv = l.Split(" = ", 2);
            lines[kv[0]] = kv[1];
        }
        File.WriteAllText(Path.Combine(_dir, "lib.hdr"), "ENVI\nfile type = ENVI Spectral Library\n" + string.Join("\n", lines.Select(kv => $"{kv.Key} = {kv.Value}")) + "\n");
        var e = Assert.Throws<EndmemberFileException>(() => EndmemberFiles.Load(sli));
        Assert.Contains(expected, e.Message);
        Assert.Contains("lib.hdr", e.Message);
    }
}
