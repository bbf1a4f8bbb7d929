"""The QGIS Processing plugin, run in a real headless QGIS (qgis_process.bin and the PyQGIS API).

Run with the system Python that has the QGIS bindings:  /usr/bin/python3 -m unittest discover -s tests/qgis -v
The hyperunmix command must be built (scripts/setup.sh); HYPERUNMIX_COMMAND points the plugin at it.
"""
import json
import os
import shutil
import struct
import subprocess
import zipfile
import tempfile
import unittest

from osgeo import gdal, osr

gdal.UseExceptions()
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# QGIS saves GDAL's derived metadata into the ENVI sample's .aux.xml when it opens it: the tests work on a copy so a
# test run never modifies the repository.
SAMPLE = os.path.join(tempfile.mkdtemp(prefix="hu-qgis-sample-"), "sample-rasters")
shutil.copytree(os.path.join(ROOT, "sample-rasters"), SAMPLE)
CLI = os.path.join(ROOT, "src", "HyperUnmix.Geo.Cli", "bin", "Release", "net10.0", "hyperunmix.dll")


def environment(profile):
    env = dict(os.environ)
    env.update({
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_PLUGINPATH": os.path.join(ROOT, "plugins", "qgis"),
        "HYPERUNMIX_COMMAND": f"dotnet {CLI}",
        "HOME": profile,
        "XDG_RUNTIME_DIR": profile,
    })
    return env


class QgisProcessTests(unittest.TestCase):
    """Every algorithm through qgis_process.bin, the runner QGIS ships for headless use."""

    @classmethod
    def setUpClass(cls):
        assert os.path.exists(CLI), f"{CLI} is not built; run scripts/setup.sh"
        cls.profile = tempfile.mkdtemp(prefix="hu-qgis-profile-")
        cls.env = environment(cls.profile)
        enable = subprocess.run(["qgis_process.bin", "plugins", "enable", "hyperunmix"], env=cls.env, capture_output=True, text=True, timeout=300)
        assert enable.returncode == 0, enable.stdout + enable.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.profile, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hu-qgis-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_alg(self, algorithm, **parameters):
        args = ["qgis_process.bin", "--json", "run", f"hyperunmix:{algorithm}", "--"] + [f"{k}={v}" for k, v in parameters.items()]
        p = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=600)
        return p

    def ok(self, algorithm, **parameters):
        p = self.run_alg(algorithm, **parameters)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        start = p.stdout.index("{")
        return json.loads(p.stdout[start:])["results"]

    def test_zip_package_installs_and_loads(self):
        # What "Install from ZIP" does: unpack into a plugin folder; QGIS must then find and enable the provider.
        dist = os.path.join(self.dir, "dist")
        zip_path = subprocess.run([os.path.join(ROOT, "plugins", "qgis", "build-zip.sh"), dist], check=True, capture_output=True, text=True).stdout.strip()
        plugins = os.path.join(self.dir, "plugins")
        with zipfile.ZipFile(zip_path) as z:
            self.assertTrue(all(n.startswith("hyperunmix/") for n in z.namelist()))
            z.extractall(plugins)
        env = dict(self.env, QGIS_PLUGINPATH=plugins, HOME=os.path.join(self.dir, "home"))
        os.makedirs(env["HOME"])
        subprocess.run(["qgis_process.bin", "plugins", "enable", "hyperunmix"], env=env, check=True, capture_output=True, timeout=300)
        listed = subprocess.run(["qgis_process.bin", "list"], env=env, capture_output=True, text=True, timeout=300).stdout
        self.assertIn("hyperunmix:unmix", listed)

    def test_missing_command_gives_an_actionable_message(self):
        env = dict(self.env, HYPERUNMIX_COMMAND="/nonexistent/hyperunmix")
        p = subprocess.run(["qgis_process.bin", "run", "hyperunmix:estimate", "--", f"INPUT={os.path.join(SAMPLE, 'scene.tif')}"],
                           env=env, capture_output=True, text=True, timeout=300)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Could not start /nonexistent/hyperunmix", p.stdout + p.stderr)
        self.assertIn("Processing > Options > Providers", p.stdout + p.stderr)

    def test_list_shows_every_algorithm(self):
        p = subprocess.run(["qgis_process.bin", "list"], env=self.env, capture_output=True, text=True, timeout=300)
        for name in ("unmix", "endmembers", "estimate", "evaluate"):
            self.assertIn(f"hyperunmix:{name}", p.stdout)

    def test_unmix_writes_named_bands_crs_and_nodata(self):
        out = os.path.join(self.dir, "a.tif")
        results = self.ok("unmix", INPUT=os.path.join(SAMPLE, "scene.tif"), METHOD=1, OUTPUT=out, ENDMEMBERS_OUTPUT=os.path.join(self.dir, "e.csv"))
        self.assertEqual(os.path.abspath(results["OUTPUT"]), out)
        ds = gdal.Open(out)
        self.assertEqual(ds.RasterCount, 5)
        self.assertEqual([ds.GetRasterBand(i).GetDescription() for i in range(1, 6)], ["EM1", "EM2", "EM3", "EM4", "residual_rmse"])
        self.assertTrue(all(ds.GetRasterBand(i).GetNoDataValue() == -9999 for i in range(1, 6)))
        srs = osr.SpatialReference(wkt=ds.GetProjection())
        srs.AutoIdentifyEPSG()
        self.assertEqual(srs.GetAuthorityCode(None), "32633")
        self.assertEqual(ds.GetMetadataItem("HYPERUNMIX_METHOD"), "FCLS")
        self.assertTrue(os.path.exists(os.path.join(self.dir, "e.csv")))
        self.assertTrue(os.path.exists(os.path.join(self.dir, "a.qml")))

    def test_unmix_deep_method_is_the_default_and_saves_its_model(self):
        out = os.path.join(self.dir, "m.tif")
        model = os.path.join(self.dir, "model.json")
        self.ok("unmix", INPUT=os.path.join(SAMPLE, "scene.img"), OUTPUT=out, MODEL_OUTPUT=model, ENDMEMBER_COUNT=4)
        self.assertEqual(gdal.Open(out).GetMetadataItem("HYPERUNMIX_METHOD"), "MTL")
        with open(model, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["format"], "hyperunmix-mtl")

    def test_roi_layer_in_another_crs_clips_to_the_polygon(self):
        # The sample ROI (WGS 84) reprojected to Web Mercator: the plugin hands it to the command, which reprojects it
        # to the scene's UTM grid. The result must equal a direct command-line run with the original polygon.
        roi3857 = os.path.join(self.dir, "roi3857.gpkg")
        gdal.VectorTranslate(roi3857, os.path.join(SAMPLE, "roi.geojson"), dstSRS="EPSG:3857", format="GPKG")
        out = os.path.join(self.dir, "roi.tif")
        self.ok("unmix", INPUT=os.path.join(SAMPLE, "scene.tif"), METHOD=1, ROI=roi3857, OUTPUT=out,
                ENDMEMBERS=os.path.join(SAMPLE, "scene_endmembers.csv"))
        direct = os.path.join(self.dir, "direct.tif")
        subprocess.run(["dotnet", CLI, "unmix", os.path.join(SAMPLE, "scene.tif"), "-o", direct, "--method", "fcls",
                        "--roi", os.path.join(SAMPLE, "roi.geojson"), "-e", os.path.join(SAMPLE, "scene_endmembers.csv")],
                       check=True, capture_output=True)
        a, b = gdal.Open(out), gdal.Open(direct)
        self.assertLess(a.RasterXSize, 100)
        self.assertEqual((a.RasterXSize, a.RasterYSize), (b.RasterXSize, b.RasterYSize))
        self.assertEqual(a.GetGeoTransform(), b.GetGeoTransform())
        gt = a.GetGeoTransform()
        self.assertEqual((gt[0] - 500000) % 30, 0)  # on the scene's 30 m grid, no resampling
        band_a, band_b = a.GetRasterBand(1).ReadRaster(), b.GetRasterBand(1).ReadRaster()
        self.assertEqual(band_a, band_b)
        corner = struct.unpack("f", a.GetRasterBand(1).ReadRaster(0, 0, 1, 1))[0]
        self.assertEqual(corner, -9999)  # a corner of the bounding window is outside the polygon

    def test_endmembers_estimate_and_evaluate(self):
        csv = os.path.join(self.dir, "vca.csv")
        self.ok("endmembers", INPUT=os.path.join(SAMPLE, "scene.tif"), ENDMEMBER_COUNT=4, OUTPUT=csv)
        with open(csv, encoding="utf-8") as f:
            header = f.readline().strip().split(",")
        self.assertEqual(header, ["band", "wavelength", "EM1", "EM2", "EM3", "EM4"])
        self.assertEqual(self.ok("estimate", INPUT=os.path.join(SAMPLE, "scene.tif"))["ENDMEMBER_COUNT"], 4)
        out = os.path.join(self.dir, "a.tif")
        self.ok("unmix", INPUT=os.path.join(SAMPLE, "scene.tif"), METHOD=1, OUTPUT=out)
        scores = self.ok("evaluate", INPUT=out, TRUTH=os.path.join(SAMPLE, "scene_abundances.tif"),
                         TRUTH_ENDMEMBERS=os.path.join(SAMPLE, "scene_endmembers.csv"), OUTPUT=os.path.join(self.dir, "s.json"))
        self.assertLess(scores["MEAN_SAD_DEG"], 1.0)
        self.assertLess(scores["ABUNDANCE_RMSE"], 0.02)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "s.json")))

    def test_failing_run_reports_the_commands_error_and_leaves_no_output(self):
        bad = os.path.join(self.dir, "bad.csv")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("band,a,b\n1,0.1,0.2\n2,0.3,0.1\n3,0.2,0.5\n")
        out = os.path.join(self.dir, "never.tif")
        p = self.run_alg("unmix", INPUT=os.path.join(SAMPLE, "scene.tif"), METHOD=1, ENDMEMBERS=bad, OUTPUT=out)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("has 3 bands but the scene has 64", p.stdout + p.stderr)
        self.assertIn("exit code 3", p.stdout + p.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["bad.csv"])


class PyQgisTests(unittest.TestCase):
    """Through the PyQGIS API: selected features only, and how outputs load (band names, style)."""

    @classmethod
    def setUpClass(cls):
        os.environ.update(environment(tempfile.mkdtemp(prefix="hu-pyqgis-")))
        from qgis.core import QgsApplication
        cls.app = QgsApplication([], False)
        cls.app.initQgis()
        import sys
        sys.path.insert(0, "/usr/share/qgis/python/plugins")
        sys.path.insert(0, os.path.join(ROOT, "plugins", "qgis"))
        from processing.core.Processing import Processing
        Processing.initialize()
        from hyperunmix.provider import HyperUnmixProvider
        cls.provider = HyperUnmixProvider()
        QgsApplication.processingRegistry().addProvider(cls.provider)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hu-pyqgis-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_cancel_stops_the_command_and_leaves_no_output(self):
        import processing
        from qgis.core import QgsProcessingException, QgsProcessingFeedback
        big = os.path.join(self.dir, "big.tif")
        subprocess.run(["dotnet", CLI, "synth", "-o", big, "--width", "400", "--height", "300", "--bands", "96", "--model", "fan"], check=True, capture_output=True)
        before = sorted(os.listdir(self.dir))

        class CancelWhenUnderway(QgsProcessingFeedback):
            def setProgress(self, progress):  # noqa: N802
                super().setProgress(progress)
                if progress > 3:
                    self.cancel()

        feedback = CancelWhenUnderway()
        with self.assertRaises(QgsProcessingException) as raised:
            processing.run("hyperunmix:unmix", {"INPUT": big, "ENDMEMBER_COUNT": 4, "TILE": 32, "THREADS": 1,
                                                "OUTPUT": os.path.join(self.dir, "cancelled.tif")}, feedback=feedback)
        self.assertIn("Cancelled", str(raised.exception))
        self.assertEqual(sorted(os.listdir(self.dir)), before)

    def test_selected_features_only_and_loaded_style(self):
        import processing
        from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsRasterLayer, QgsVectorLayer
        # Two polygons; only the second is selected.
        path = os.path.join(self.dir, "two.geojson")
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"id": 1}, "geometry": {"type": "Polygon", "coordinates": [[[500100, 5199900], [500600, 5199900], [500600, 5199400], [500100, 5199400], [500100, 5199900]]]}},
                {"type": "Feature", "properties": {"id": 2}, "geometry": {"type": "Polygon", "coordinates": [[[501500, 5198620], [502400, 5198620], [502400, 5198020], [501500, 5198020], [501500, 5198620]]]}},
            ], "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}}}))
        layer = QgsVectorLayer(path, "two", "ogr")
        self.assertTrue(layer.isValid())
        QgsProject.instance().addMapLayer(layer)
        second = [f.id() for f in layer.getFeatures() if f["id"] == 2]
        layer.selectByIds(second)
        out = os.path.join(self.dir, "sel.tif")
        processing.run("hyperunmix:unmix", {
            "INPUT": os.path.join(SAMPLE, "scene.tif"), "METHOD": 1, "OUTPUT": out,
            "ROI": QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True),
        })
        ds = gdal.Open(out)
        gt = ds.GetGeoTransform()
        # The output window covers the selected polygon only: 30 x 20 pixels starting at column 50, row 46.
        self.assertEqual((gt[0], gt[3]), (501500.0, 5198620.0))
        self.assertEqual((ds.RasterXSize, ds.RasterYSize), (30, 20))
        raster = QgsRasterLayer(out, "abundances")
        self.assertTrue(raster.isValid())
        self.assertIn("EM1", raster.bandName(1))
        # <raster>.qml is picked up as the layer's default style: first three endmembers as RGB.
        self.assertEqual(raster.renderer().type(), "multibandcolor")
        self.assertEqual(raster.renderer().redBand(), 1)


def tearDownModule():
    shutil.rmtree(os.path.dirname(SAMPLE), ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
