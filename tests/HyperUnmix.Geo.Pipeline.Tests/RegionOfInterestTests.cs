using System.Globalization;
using HyperUnmix.Geo.Gdal;
using HyperUnmix.Geo.Raster;

namespace HyperUnmix.Geo.Pipeline.Tests;

/// <summary>ROI clipping checked pixel by pixel against GDAL's own rasteriser (gdal_rasterize, pixel-centre rule).</summary>
[Collection("sample")]
public sealed class RegionOfInterestTests(SampleScene s)
{
    /// <summary>Rasterises the polygons onto the output's grid with gdal_rasterize (it reprojects the vector itself).</summary>
    private static byte[] GdalMask(string vector, string output)
    {
        var info = SampleScene.GdalInfo(output);
        var target = Path.Combine(Path.GetDirectoryName(output)!, "mask-" + Path.GetFileName(output));
        int w = info.GetProperty("size")[0].GetInt32(), h = info.GetProperty("size")[1].GetInt32();
        using (var ds = GdalDataset.Create("GTiff", target, w, h, 1, GdalDataType.Byte))
        using (var src = GdalDataset.Open(output))
        {
            ds.SetGeoTransform(src.GetGeoTransform()!);
            ds.SetProjection(src.ProjectionWkt);
            ds.Close();
        }
        SampleScene.Tool("gdal_rasterize", "-burn", "1", vector, target);
        using var m = RasterSource.Open(target);
        var buf = new float[w * h];
        m.Read(m.Extent, [0], buf, new byte[w * h]);
        return buf.Select(v => (byte)v).ToArray();
    }

    private static (float[] Band0, int W, int H) ReadBand0(string path)
    {
        using var src = RasterSource.Open(path, new RasterOpenOptions { NoData = double.NaN });
        var n = (int)src.Extent.Area;
        var buf = new float[n];
        src.Read(src.Extent, [0], buf, new byte[n]);
        return (buf, src.Info.Width, src.Info.Height);
    }

    private static void CheckAgainstGdal(string vector, string output)
    {
        var (band, _, _) = ReadBand0(output);
        var mask = GdalMask(vector, output);
        var inside = 0;
        for (var i = 0; i < band.Length; i++)
        {
            var ours = band[i] != -9999f;
            // The sample scene's nodata corner is nodata in our output whatever the polygon says.
            if (mask[i] == 1 && !ours) continue;
            Assert.True(ours == (mask[i] == 1), $"pixel {i}: ours {(ours ? "inside" : "outside")}, gdal_rasterize {(mask[i] == 1 ? "inside" : "outside")}");
            inside += mask[i];
        }
        Assert.True(inside > 100, $"only {inside} pixels inside");
    }

    [Fact]
    public void Roi_Wgs84PolygonWithHole_MatchesGdalRasterizeOnTheUtmGrid()
    {
        var dir = s.NewDir();
        var o = Path.Combine(dir, "roi.tif");
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = s.Roi }, Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers }, Outputs = new OutputOptions { Output = o, SideOutputs = false } });
        // The window's geotransform is the scene's shifted by whole pixels.
        var gt = SampleScene.GdalInfo(o).GetProperty("geoTransform").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(500000 + 30 * r.Area.ColOff, gt[0], 1e-6);
        Assert.Equal(5200000 - 30 * r.Area.RowOff, gt[3], 1e-6);
        Assert.Equal(30, gt[1]);
        Assert.True(r.Area.Width < 100 && r.Area.Height < 80);
        CheckAgainstGdal(s.Roi, o);
        // The hole (pixels ~45-60 x 30-45 of the scene) is nodata.
        var (band, w, _) = ReadBand0(o);
        Assert.Equal(-9999f, band[(38 - r.Area.RowOff) * w + 52 - r.Area.ColOff]);
    }

    [Fact]
    public void Evaluate_RoiOutput_IsPlacedInTheTruthRasterByItsGrid()
    {
        var dir = s.NewDir();
        var o = Path.Combine(dir, "roi.tif");
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = s.Roi }, Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers }, Method = new MethodOptions { Name = UnmixMethod.Fcls }, Outputs = new OutputOptions { Output = o, SideOutputs = false } });
        var located = Evaluation.Score(o, s.Truth, null, null);
        var given = Evaluation.Score(o, s.Truth, null, null, r.Area);
        Assert.Equal(given.AbundanceRmse, located.AbundanceRmse);
        Assert.True(located.AbundanceRmse < 0.01, $"RMSE {located.AbundanceRmse} with the true endmembers");
    }

    [Fact]
    public void Roi_PolygonPartlyOutsideTheSceneInAnotherProjectedCrs_IsClippedToTheScene()
    {
        var dir = s.NewDir();
        // A polygon in UTM 32N (the scene is UTM 33N) that runs past the scene's right and bottom edges.
        var vector = Path.Combine(dir, "partly.geojson");
        using (var from = SpatialReference.FromUserInput("EPSG:32633"))
        using (var to = SpatialReference.FromUserInput("EPSG:32632"))
        using (var ct = new CoordinateTransformation(from, to))
        {
            double[] x = [500000 + 30 * 60.3, 500000 + 30 * 140.0, 500000 + 30 * 130.0, 500000 + 30 * 55.7, 500000 + 30 * 60.3];
            double[] y = [5200000 - 30 * 20.2, 5200000 - 30 * 25.0, 5200000 - 30 * 120.0, 5200000 - 30 * 90.4, 5200000 - 30 * 20.2];
            ct.Transform(x, y);
            var coords = string.Join(",", x.Select((v, i) => string.Create(CultureInfo.InvariantCulture, $"[{v:R},{y[i]:R}]")));
            File.WriteAllText(vector, $"{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::32632\"}}}},\"features\":[{{\"type\":\"Feature\",\"properties\":{{}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{coords}]]}}}}]}}");
        }
        var o = Path.Combine(dir, "partly.tif");
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Img, Roi = vector }, Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers }, Outputs = new OutputOptions { Output = o, SideOutputs = false } });
        Assert.Equal(100, r.Area.ColEnd);
        Assert.Equal(80, r.Area.RowEnd);
        CheckAgainstGdal(vector, o);
    }

    [Fact]
    public void Roi_PolygonMissingTheScene_EmptyFile_AndSceneWithoutCrs_AreClearErrors()
    {
        var dir = s.NewDir();
        var far = Path.Combine(dir, "far.geojson");
        File.WriteAllText(far, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[2,48],[2.1,48],[2.1,48.1],[2,48]]]}}]}");
        var e1 = Assert.Throws<RasterDataException>(() => UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = far }, Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif") } }));
        Assert.Contains("does not overlap", e1.Message);
        var empty = Path.Combine(dir, "empty.geojson");
        File.WriteAllText(empty, "{\"type\":\"FeatureCollection\",\"features\":[]}");
        var e2 = Assert.Throws<RasterDataException>(() => UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = empty }, Outputs = new OutputOptions { Output = Path.Combine(dir, "b.tif") } }));
        Assert.Contains("no polygon", e2.Message);
        var bowtie = Path.Combine(dir, "bowtie.geojson");
        File.WriteAllText(bowtie, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[15,47],[15.1,47.1],[15.1,47],[15,47.1],[15,47]]]}}]}");
        var e3 = Assert.Throws<RasterDataException>(() => UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = bowtie }, Outputs = new OutputOptions { Output = Path.Combine(dir, "c.tif") } }));
        Assert.Contains("invalid polygon", e3.Message);
        Assert.Empty(Directory.GetFiles(dir, "*.tif"));
    }

    [Fact]
    public void Roi_AttributeFilter_SelectsFeatures()
    {
        var dir = s.NewDir();
        var e = Assert.Throws<RasterDataException>(() => UnmixJob.Run(new UnmixOptions
        {
            Scene = new SceneInput { Input = s.Tif, Roi = s.Roi, RoiSelection = new RoiSelection { Where = "name = 'nothing'" } },
            Outputs = new OutputOptions { Output = Path.Combine(dir, "a.tif") },
        }));
        Assert.Contains("matches the selection", e.Message);
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = s.Roi, RoiSelection = new RoiSelection { Where = "name = 'study area'" } }, Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers }, Outputs = new OutputOptions { Output = Path.Combine(dir, "b.tif"), SideOutputs = false } });
        Assert.True(r.ValidPixels > 1000);
    }
    /// <summary>
    /// Writes a GeoJSON (WGS 84) of four overlapping wavy star-shaped polygons over the sample scene, the first with a hole:
    /// 4 x <paramref name="verticesPerRing"/> vertices, the size of a digitised coastline, generated here so the repository
    /// carries no big file.
    /// </summary>
    private static string WriteLargeRoi(string dir, int verticesPerRing)
    {
        var path = Path.Combine(dir, "large.geojson");
        using var w = new StreamWriter(path);
        w.Write("{\"type\":\"FeatureCollection\",\"features\":[");
        (double X, double Y)[] centres = [(15.012, 46.945), (15.028, 46.945), (15.012, 46.936), (15.028, 46.936)];
        void Ring(double cx, double cy, double radius, int phase, bool reverse)
        {
            w.Write('[');
            for (var i = 0; i <= verticesPerRing; i++)
            {
                var t = 2 * Math.PI * (reverse ? verticesPerRing - i : i) / verticesPerRing;
                var r = radius * (1 + 0.25 * Math.Sin(37 * t + phase) + 0.05 * Math.Sin(1001 * t));
                w.Write(string.Create(CultureInfo.InvariantCulture, $"{(i > 0 ? "," : "")}[{cx + 1.4 * r * Math.Cos(t):R},{cy + r * Math.Sin(t):R}]"));
            }
            w.Write(']');
        }
        for (var k = 0; k < centres.Length; k++)
        {
            w.Write(string.Create(CultureInfo.InvariantCulture, $"{(k > 0 ? "," : "")}{{\"type\":\"Feature\",\"properties\":{{\"id\":{k}}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":["));
            Ring(centres[k].X, centres[k].Y, 0.008, k, reverse: false);
            if (k == 0) { w.Write(','); Ring(centres[k].X, centres[k].Y, 0.002, k, reverse: true); }
            w.Write("]}}");
        }
        w.Write("]}");
        return path;
    }

    [Fact]
    public void Roi_LargeOverlappingPolygonsWithAHole_MatchGdalRasterize()
    {
        var dir = s.NewDir();
        var vector = WriteLargeRoi(dir, 57_500);
        var o = Path.Combine(dir, "large.tif");
        var r = UnmixJob.Run(new UnmixOptions { Scene = new SceneInput { Input = s.Tif, Roi = vector }, Endmembers = new EndmemberOptions { EndmembersFile = s.TruthEndmembers }, Method = new MethodOptions { Name = UnmixMethod.Fcls }, Outputs = new OutputOptions { Output = o, SideOutputs = false } });
        Assert.True(r.ValidPixels > 3000, $"{r.ValidPixels} valid pixels");
        CheckAgainstGdal(vector, o);
    }

    [Fact]
    public void Load_CancelledToken_ThrowsOperationCanceled()
    {
        var dir = s.NewDir();
        var vector = WriteLargeRoi(dir, 57_500);
        using var src = RasterSource.Open(s.Tif);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => RegionOfInterest.Load(vector, src.Info, null, cts.Token));
    }
}
