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
            # The Help button's page and the algorithm icons ship in the zip.
            for name in ("help/index.html", "icons/unmix.svg", "icons/endmembers.svg", "icons/estimate.svg", "icons/evaluate.svg",
                         "icons/mesma.svg", "icons/library_from_polygons.svg", "style.py", "report.py"):
                self.assertIn("hyperunmix/" + name, z.namelist())
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

    def test_deactivated_provider_hides_its_algorithms(self):
        # The provider's Activate switch (Processing > Options > Providers) is a QgsSettings value qgis_process reads too.
        home = os.path.join(self.dir, "home")
        env = dict(self.env, HOME=home, XDG_RUNTIME_DIR=home)
        os.makedirs(home)
        subprocess.run(["qgis_process.bin", "plugins", "enable", "hyperunmix"], env=env, check=True, capture_output=True, timeout=300)
        ini = os.path.join(home, ".local", "share", "QGIS", "QGIS3", "profiles", "default", "QGIS", "QGIS3.ini")
        with open(ini, "a", encoding="utf-8") as f:
            f.write("\n[Processing]\nConfiguration\\ACTIVATE_HYPERUNMIX=false\n")
        listed = subprocess.run(["qgis_process.bin", "list"], env=env, capture_output=True, text=True, timeout=300).stdout
        self.assertNotIn("hyperunmix:unmix", listed)
        self.assertIn("native:", listed)

    def test_list_shows_every_algorithm(self):
        p = subprocess.run(["qgis_process.bin", "list"], env=self.env, capture_output=True, text=True, timeout=300)
        for name in ("unmix", "endmembers", "estimate", "evaluate", "mesma", "library_from_polygons"):
            self.assertIn(f"hyperunmix:{name}", p.stdout)

    def test_mesma_and_library_from_polygons(self):
        data = os.path.abspath(os.path.join(ROOT, "..", "shared", "datasets"))
        tile = os.path.join(data, "enmap_potsdam", "enmap_potsdam_tile_64_0.tif")
        library = os.path.join(data, "spectral_libraries", "enmapbox_berlin", "library_berlin.sli")
        out = os.path.join(self.dir, "fractions.tif")
        self.ok("mesma", INPUT=tile, LIBRARY=library, CLASS_FIELD="level_1", OUTPUT=out)
        ds = gdal.Open(out)
        names = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
        self.assertEqual(names, ["impervious", "vegetation", "soil", "water", "shade", "rmse", "model"])
        self.assertTrue(os.path.exists(os.path.join(self.dir, "fractions.models.csv")))
        # Two polygons in the tile's UTM CRS, classed by 'cover'.
        gt = gdal.Open(tile).GetGeoTransform()
        def ring(c0, r0, c1, r1):
            return [[gt[0] + c * gt[1], gt[3] + r * gt[5]] for c, r in ((c0, r0), (c1, r0), (c1, r1), (c0, r1), (c0, r0))]
        polygons = os.path.join(self.dir, "polygons.geojson")
        with open(polygons, "w", encoding="utf-8") as f:
            json.dump({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
                       "features": [{"type": "Feature", "properties": {"cover": c}, "geometry": {"type": "Polygon", "coordinates": [ring(*r)]}}
                                    for c, r in (("park", (2, 2, 8, 8)), ("built", (10, 20, 18, 28)))]}, f)
        lib = os.path.join(self.dir, "lib.csv")
        self.ok("library_from_polygons", INPUT=tile, POLYGONS=polygons, CLASS_FIELD="cover", OUTPUT=lib)
        with open(lib, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("channel,wavelength_nm,fwhm_nm,feature"), lines[0])
        self.assertEqual(lines[1].split(",")[3:], ["park", "built"])
        # Points (field samples) at pixel centres, a 3 x 3 window each.
        points = os.path.join(self.dir, "points.geojson")
        with open(points, "w", encoding="utf-8") as f:
            json.dump({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
                       "features": [{"type": "Feature", "properties": {"cover": c}, "geometry": {"type": "Point", "coordinates": [gt[0] + (col + 0.5) * gt[1], gt[3] + (row + 0.5) * gt[5]]}}
                                    for c, (col, row) in (("park", (5, 5)), ("built", (14, 24)), ("built", (30, 30)))]}, f)
        plib = os.path.join(self.dir, "plib.csv")
        self.ok("library_from_polygons", INPUT=tile, POLYGONS=points, CLASS_FIELD="cover", POINT_WINDOW=3, OUTPUT=plib)
        with open(plib, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[1].split(",")[3:], ["park", "built", "built"])

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
        self.assertIn("has 3 bands, but 54 bands of the scene are used", p.stdout + p.stderr)
        self.assertIn("exit code 3", p.stdout + p.stderr)
        self.assertEqual(sorted(os.listdir(self.dir)), ["bad.csv"])


_QGIS = {}


def start_qgis():
    """One QgsApplication per process (QGIS allows no second one) with Processing and the plugin's provider."""
    if not _QGIS:
        os.environ.update(environment(tempfile.mkdtemp(prefix="hu-pyqgis-")))
        from qgis.core import QgsApplication
        app = QgsApplication([], False)
        app.initQgis()
        import sys
        sys.path.insert(0, "/usr/share/qgis/python/plugins")
        sys.path.insert(0, os.path.join(ROOT, "plugins", "qgis"))
        from processing.core.Processing import Processing
        Processing.initialize()
        from hyperunmix.provider import HyperUnmixProvider
        provider = HyperUnmixProvider()
        QgsApplication.processingRegistry().addProvider(provider)
        _QGIS.update(app=app, provider=provider)
    return _QGIS["app"], _QGIS["provider"]


class PyQgisTests(unittest.TestCase):
    """Through the PyQGIS API: selected features only, and how outputs load (band names, style)."""

    @classmethod
    def setUpClass(cls):
        cls.app, cls.provider = start_qgis()

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

    def test_batch_results_reach_the_results_viewer_named_by_input(self):
        # QGIS 3.22's Batch dialog calls addResult(icon=, name=, result=) without the timestamp its signature requires
        # (BatchAlgorithmDialog.loadHTMLResults): with the provider loaded that call works, and entries of repeated
        # runs carry the input's name and a counter.
        import processing
        from processing.core.ProcessingResults import resultsList
        runs = []
        for _ in range(2):
            html = os.path.join(self.dir, f"report{len(runs)}.html")
            result = processing.run("hyperunmix:unmix", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "METHOD": 1,
                                                         "ENDMEMBERS": os.path.join(SAMPLE, "scene_endmembers.csv"),
                                                         "OUTPUT": os.path.join(self.dir, f"a{len(runs)}.tif"), "REPORT_HTML": html})
            runs.append(result["REPORT_HTML"])
        before = len(resultsList.getResults())
        alg = self.provider.algorithm("unmix")
        for num, path in enumerate(runs):
            resultsList.addResult(icon=alg.icon(), name=f"HTML report [{num}]", result=path)  # as the Batch dialog does
        added = resultsList.getResults()[before:]
        self.assertEqual(len(added), 2)
        names = [r.name for r in added]
        self.assertTrue(all("scene.tif #" in n for n in names), names)
        self.assertEqual(len(set(names)), 2, names)
        self.assertEqual([r.filename for r in added], runs)

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


    def test_mesma_class_styles_in_the_librarys_colours(self):
        import processing
        from qgis.core import QgsRasterLayer
        from hyperunmix import style
        data = os.path.abspath(os.path.join(ROOT, "..", "shared", "datasets"))
        tile = os.path.join(data, "enmap_potsdam", "enmap_potsdam_tile_64_0.tif")
        library = os.path.join(data, "spectral_libraries", "enmapbox_berlin", "library_berlin.sli")
        out = os.path.join(self.dir, "classes.tif")
        processing.run("hyperunmix:mesma", {"INPUT": tile, "LIBRARY": library, "CLASS_FIELD": "level_1", "LEVELS": "1,2", "OUTPUT": out})
        # The colours are the library's own (EnMAP-Box's library_berlin.json), in class order.
        with open(os.path.join(os.path.dirname(library), "library_berlin.json"), encoding="utf-8") as f:
            expected = {name: "#%02x%02x%02x" % tuple(rgb) for _, name, rgb in json.load(f)["level_1"]["categories"] if name in
                        ("impervious", "vegetation", "soil", "water")}
        colours = style.class_colours(out)
        self.assertEqual(list(colours), ["impervious", "vegetation", "soil", "water"])
        self.assertEqual(colours, expected)
        layer = QgsRasterLayer(out, "classes")
        names = style.apply_classes(layer, colours)
        self.assertEqual(names, ["impervious", "vegetation", "soil", "water", "shade", "rmse", "model"])
        manager = layer.styleManager()
        self.assertEqual(manager.currentStyle(), "RGB: impervious, vegetation, soil")
        self.assertTrue(set(names) <= set(manager.styles()), manager.styles())
        for band, name in enumerate(["impervious", "vegetation", "soil", "water"], start=1):
            manager.setCurrentStyle(name)
            renderer = layer.renderer()
            self.assertEqual(renderer.type(), "singlebandpseudocolor")
            self.assertEqual(renderer.band(), band)
            items = renderer.shader().rasterShaderFunction().colorRampItemList()
            self.assertEqual(items[0].color.name(), "#ffffff")
            self.assertEqual(items[-1].color.name(), colours[name])
            self.assertEqual((items[0].value, items[-1].value), (0.0, 1.0))
        manager.setCurrentStyle("rmse")
        self.assertEqual(layer.renderer().band(), 6)

    def test_mesma_library_as_a_layer_with_selected_spectra(self):
        import processing
        from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer
        data = os.path.abspath(os.path.join(ROOT, "..", "shared", "datasets"))
        tile = os.path.join(data, "enmap_potsdam", "enmap_potsdam_tile_64_0.tif")
        library = QgsVectorLayer(os.path.join(data, "spectral_libraries", "enmapbox_berlin", "library_berlin.gpkg"), "berlin", "ogr")
        self.assertTrue(library.isValid())
        QgsProject.instance().addMapLayer(library)
        # Two spectra per level_1 class selected: the run's model table lists those spectra only.
        chosen = {}
        for feature in library.getFeatures():
            chosen.setdefault(feature["level_1"], [])
            if len(chosen[feature["level_1"]]) < 2:
                chosen[feature["level_1"]].append(feature)
        library.selectByIds([f.id() for fs in chosen.values() for f in fs])
        out = os.path.join(self.dir, "layer.tif")
        processing.run("hyperunmix:mesma", {"INPUT": tile, "LIBRARY_LAYER": QgsProcessingFeatureSourceDefinition(library.id(), selectedFeaturesOnly=True),
                                            "CLASS_FIELD": "level_1", "LEVELS": "1,2", "OUTPUT": out})
        ds = gdal.Open(out)
        self.assertEqual([ds.GetRasterBand(i + 1).GetDescription() for i in range(4)], ["impervious", "vegetation", "soil", "water"])
        import csv
        with open(os.path.join(self.dir, "layer.models.csv"), encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        used = {row[k] for row in rows for k in row if k.startswith("spectrum_") and row[k]}
        self.assertEqual(used, {f["name"] for fs in chosen.values() for f in fs})
        QgsProject.instance().removeMapLayer(library.id())


def unmix_algorithm():
    from qgis.core import QgsApplication
    return QgsApplication.processingRegistry().createAlgorithmById("hyperunmix:unmix")


class DialogTests(unittest.TestCase):
    """What a user of the dialogs sees: options, help, names, log, style, defaults, search (issue 'dialog' items 1-8)."""

    @classmethod
    def setUpClass(cls):
        cls.app, cls.provider = start_qgis()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hu-dialog-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def arguments(self, **parameters):
        from qgis.core import QgsProcessingContext, QgsProcessingFeedback
        alg = unmix_algorithm()
        parameters = dict({"INPUT": os.path.join(SAMPLE, "scene.tif"), "OUTPUT": os.path.join(self.dir, "x.tif")}, **parameters)
        context = QgsProcessingContext()
        ok, message = alg.checkParameterValues(parameters, context)
        self.assertTrue(ok, message)
        return [str(a) for a in alg.commandArguments(parameters, context, QgsProcessingFeedback(), parameters["OUTPUT"])]

    def assertFlag(self, arguments, flag, value=None):  # noqa: N802
        self.assertIn(flag, arguments)
        if value is not None:
            self.assertEqual(arguments[arguments.index(flag) + 1], value, arguments)

    # 1. Every command option the dialog lacked, mapped to its flag.
    def test_1_options_map_to_the_commands_flags(self):
        args = self.arguments(METHOD=0, SCALE=0.0001, BANDS="1-10, 20-30", DROP_BAD_BANDS=True, NODATA="nan", NAN_AS_NODATA=True,
                              RESAMPLE=True, ENDMEMBERS=os.path.join(SAMPLE, "scene_endmembers.csv"), ENDMEMBER_NAMES="soil, water",
                              OUTPUT_NODATA="nan", COG=True, ALPHA=0.5, EPOCHS=7, FIT_PIXELS=500, ENDMEMBER_STEP=0.01)
        for flag, value in (("--scale", "0.0001"), ("--bands", "1-10,20-30"), ("--nodata", "nan"), ("--endmember-names", "soil,water"),
                            ("--output-nodata", "nan"), ("--format", "cog"), ("--alpha", "0.5"), ("--epochs", "7"), ("--fit-pixels", "500"),
                            ("--endmember-step", "0.01"), ("--method", "mtl")):
            self.assertFlag(args, flag, value)
        for flag in ("--drop-bad-bands", "--nan-as-nodata", "--resample"):
            self.assertFlag(args, flag)
        # Defaults add none of them; deep settings only go to the deep method; ENVI outputs stay ENVI.
        plain = self.arguments(METHOD=1, EPOCHS=7)
        for flag in ("--scale", "--bands", "--drop-bad-bands", "--nodata", "--nan-as-nodata", "--resample", "--endmember-names",
                     "--output-nodata", "--format", "--alpha", "--epochs", "--fit-pixels", "--endmember-step", "--threads"):
            self.assertNotIn(flag, plain)
        self.assertFlag(self.arguments(COG=True, OUTPUT=os.path.join(self.dir, "x.img")), "--format", "envi")
        # The endmember stages and the pixel scale: defaults pass nothing, choices pass their option.
        for flag in ("--extractor", "--no-refine", "--normalize"):
            self.assertNotIn(flag, plain)
        stages = self.arguments(EXTRACTOR=1, REFINE=False, NORMALIZE=2, FRACTIONS=1)
        self.assertFlag(stages, "--fractions", "signal")
        self.assertNotIn("--fractions", plain)
        self.assertFlag(stages, "--extractor", "vca")
        self.assertFlag(stages, "--no-refine")
        self.assertFlag(stages, "--normalize", "l2")
        from qgis.core import QgsProcessingContext
        ok, message = unmix_algorithm().checkParameterValues({"INPUT": os.path.join(SAMPLE, "scene.tif"), "NODATA": "none",
                                                              "OUTPUT": os.path.join(self.dir, "x.tif")}, QgsProcessingContext())
        self.assertFalse(ok)
        self.assertIn("neither a number nor nan", message)
        # An endmember file and a count together: refused before launch, in the dialog's words (not the raw -p).
        ok, message = unmix_algorithm().checkParameterValues({"INPUT": os.path.join(SAMPLE, "scene.tif"), "ENDMEMBER_COUNT": 3,
                                                              "ENDMEMBERS": os.path.join(SAMPLE, "scene_endmembers.csv"),
                                                              "OUTPUT": os.path.join(self.dir, "x.tif")}, QgsProcessingContext())
        self.assertFalse(ok)
        self.assertIn("not both", message)
        self.assertIn("Number of endmembers", message)
        self.assertNotIn("-p", message)
        # A vector file as the raster input: said so, not "not found".
        ok, message = unmix_algorithm().checkParameterValues({"INPUT": os.path.join(SAMPLE, "roi.geojson"),
                                                              "OUTPUT": os.path.join(self.dir, "x.tif")}, QgsProcessingContext())
        self.assertFalse(ok)
        self.assertIn("not a raster QGIS can open", message)
        self.assertNotIn("not found", message)

    def test_1_options_reach_the_command(self):
        # Through the real command: scale, band subset, NaN output nodata, COG.
        import processing
        out = os.path.join(self.dir, "o.tif")
        processing.run("hyperunmix:unmix", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "METHOD": 1, "ENDMEMBER_COUNT": 4, "SCALE": 0.5,
                                            "BANDS": "1-60", "OUTPUT_NODATA": "nan", "COG": True, "OUTPUT": out})
        with open(os.path.join(self.dir, "o.report.json"), encoding="utf-8") as f:
            run = json.load(f)
        self.assertEqual(run["parameters"]["input_scale"], 0.5)
        # Bands 1-60, less the 8 of them in the absorption windows that the screening leaves out (30-32, 43-47).
        self.assertEqual(run["endmembers"]["bands"], 52)
        self.assertEqual(run["screening"]["bands_requested"], 60)
        ds = gdal.Open(out)
        self.assertTrue(ds.GetRasterBand(1).GetNoDataValue() != ds.GetRasterBand(1).GetNoDataValue())  # NaN
        self.assertEqual(ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG")

    def test_1_sensor_product_replaces_the_layer(self):
        # A product's metadata file or folder (no layer) is what the command reads; neither is an error.
        from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback
        folder = os.path.join(self.dir, "enmap")
        os.makedirs(folder)
        xml = os.path.join(folder, "ENMAP01-____L2A-X-METADATA.XML")
        with open(xml, "w", encoding="utf-8") as f:
            f.write("<level_X/>")
        for product in (xml, folder):
            args = self.arguments(INPUT=None, PRODUCT=product)
            self.assertEqual(args[1], product)
        alg = unmix_algorithm()
        with self.assertRaises(QgsProcessingException) as raised:
            alg.commandArguments({"OUTPUT": os.path.join(self.dir, "x.tif")}, QgsProcessingContext(), QgsProcessingFeedback(), "x.tif")
        self.assertIn("sensor product", str(raised.exception))

    def test_1_error_names_the_dialogs_checkbox(self):
        # The command's advice 'pass --resample' is useless in a dialog unless it names the checkbox.
        import processing
        from qgis.core import QgsProcessingException
        short = os.path.join(self.dir, "short.csv")
        with open(short, "w", encoding="utf-8") as f:
            f.write("band,wavelength,a,b\n1,400,0.1,0.2\n2,500,0.3,0.1\n3,600,0.2,0.5\n")
        with self.assertRaises(QgsProcessingException) as raised:
            processing.run("hyperunmix:unmix", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "METHOD": 1, "ENDMEMBERS": short,
                                                "OUTPUT": os.path.join(self.dir, "n.tif")})
        self.assertIn('--resample (in the dialog: "Resample endmember spectra to the scene\'s wavelengths")', str(raised.exception))

    # 2, 4, 5, 6: one run as the dialog does it: temporary output, layers loaded into the project afterwards.
    def test_2_4_5_6_dialog_run_report_table_name_log_and_style(self):
        from processing.gui.Postprocessing import handleAlgorithmResults
        from qgis.core import (QgsProcessingContext, QgsProcessingFeedback, QgsProcessingOutputHtml, QgsProcessingOutputLayerDefinition,
                               QgsProject, QgsRaster)
        names = os.path.join(self.dir, "named.csv")
        with open(os.path.join(SAMPLE, "scene_endmembers.csv"), encoding="utf-8") as f:
            text = f.read()
        with open(names, "w", encoding="utf-8") as f:
            f.write(text.replace("vegetation,soil,water,asphalt", "Grass <green>,Bare soil,Water,Asphalt"))

        class Recording(QgsProcessingFeedback):
            texts = []
            infos = []

            def setProgressText(self, text):  # noqa: N802
                self.texts.append(text)
                super().setProgressText(text)

            def pushInfo(self, info):  # noqa: N802
                self.infos.append(info)
                super().pushInfo(info)

        project = QgsProject.instance()
        project.removeAllMapLayers()
        context = QgsProcessingContext()
        context.setProject(project)
        feedback = Recording()
        alg = unmix_algorithm()
        html_path = os.path.join(self.dir, "report.html")
        parameters = {"INPUT": os.path.join(SAMPLE, "scene.tif"), "METHOD": 1, "ENDMEMBERS": names, "REPORT_HTML": html_path,
                      "OUTPUT": QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", project),
                      "ENDMEMBERS_OUTPUT": QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", project)}
        results, ok = alg.run(parameters, context, feedback)
        self.assertTrue(ok)
        # 2. Side outputs of a temporary output are reported and exist; the report is an HTML output (Results Viewer).
        self.assertIsInstance(alg.outputDefinition("REPORT_HTML"), QgsProcessingOutputHtml)
        self.assertEqual(results["REPORT_HTML"], html_path)
        side = results["SIDE_OUTPUTS"].split("\n")
        self.assertTrue(any(p.endswith(".endmembers.sli") for p in side))
        for key in ("SPECTRAL_LIBRARY", "ENDMEMBER_PLOT", "ABUNDANCE_PREVIEW", "REPORT"):
            self.assertTrue(os.path.exists(results[key]), key)
        self.assertTrue(all(os.path.exists(p) for p in side))
        self.assertTrue(any(".endmembers.sli" in i for i in feedback.infos))
        with open(html_path, encoding="utf-8") as f:
            page = f.read()
        self.assertIn("<svg", page)
        for label in ("Grass &lt;green&gt;", "Bare soil", "Water", "Asphalt", "Wavelength", "Value", "Run summary", "FCLS"):
            self.assertIn(label, page)
        self.assertNotIn("Grass <green>", page)
        self.assertGreaterEqual(page.count('src="data:image/png;base64,'), 4)  # a thumbnail per endmember
        # 5. Each stage is said once, in order (the dialog logs every progress text).
        self.assertEqual(len(feedback.texts), len(set(feedback.texts)), feedback.texts)
        self.assertIn("unmix", feedback.texts)
        # Load the results the way the dialog does.
        handleAlgorithmResults(alg, context, feedback, False, parameters)
        layers = {layer.name(): layer for layer in project.mapLayers().values()}
        # 4. The abundance layer is named after the input and method; the endmember table is a table layer.
        self.assertIn("scene abundances (FCLS)", layers, list(layers))
        raster = layers["scene abundances (FCLS)"]
        table = layers["scene endmembers (FCLS)"]
        self.assertFalse(table.isSpatial())
        self.assertEqual(table.featureCount(), 54)  # one row per band used: 64 less the 10 in absorption windows
        self.assertEqual([f.name() for f in table.fields()][:3], ["band", "wavelength", "Grass <green>"])
        self.assertTrue(table.fields().field(2).isNumeric())
        # 6. RGB of endmembers 1-3 plus a named style per endmember and for the residual; nothing invisible.
        renderer = raster.renderer()
        self.assertEqual(renderer.type(), "multibandcolor")
        self.assertEqual((renderer.redBand(), renderer.greenBand(), renderer.blueBand()), (1, 2, 3))
        self.assertEqual(renderer.redContrastEnhancement().maximumValue(), 1.0)
        del renderer  # sip would hand its stale wrapper back for a new renderer at the same address
        manager = raster.styleManager()
        self.assertEqual(manager.currentStyle(), "RGB: Grass <green>, Bare soil, Water")
        self.assertTrue({"Grass <green>", "Bare soil", "Water", "Asphalt", "residual_rmse"} <= set(manager.styles()), manager.styles())
        self.assertTrue(any("Asphalt" in i and "Styles" in i for i in feedback.infos), feedback.infos)
        manager.setCurrentStyle("Asphalt")
        self.assertEqual(raster.renderer().type(), "singlebandpseudocolor")
        self.assertEqual(raster.renderer().band(), 4)
        self.assertEqual((raster.renderer().classificationMin(), raster.renderer().classificationMax()), (0.0, 1.0))
        manager.setCurrentStyle("residual_rmse")
        self.assertEqual(raster.renderer().band(), 5)
        self.assertGreater(raster.renderer().classificationMax(), 0.0)
        self.assertLess(raster.renderer().classificationMax(), 1.0)
        # Bands 2.. are Undefined; GDAL 3.6's GeoTIFF keeps band 1 Gray (see style.set_undefined_colour_interpretation).
        for band in range(2, 6):
            self.assertEqual(raster.dataProvider().colorInterpretation(band), QgsRaster.UndefinedColorInterpretation)
        project.removeAllMapLayers()

    def test_6_envi_output_every_band_undefined_and_small_p_styles(self):
        import processing
        from qgis.core import QgsRaster, QgsRasterLayer
        from hyperunmix import style
        out = os.path.join(self.dir, "e.img")
        processing.run("hyperunmix:unmix", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "METHOD": 1, "ENDMEMBER_COUNT": 4, "OUTPUT": out})
        layer = QgsRasterLayer(out, "e")
        for band in range(1, 6):
            self.assertEqual(layer.dataProvider().colorInterpretation(band), QgsRaster.UndefinedColorInterpretation)
            self.assertNotIn("Gray", layer.bandName(band))
        # Two endmembers + residual: red and green, no blue; every band still has its own style.
        two = os.path.join(self.dir, "two.tif")
        gdal.Translate(two, out, bandList=[1, 2, 5], format="GTiff")
        layer = QgsRasterLayer(two, "two")
        self.assertEqual(style.apply(layer), [])
        self.assertEqual((layer.renderer().redBand(), layer.renderer().greenBand(), layer.renderer().blueBand()), (1, 2, -1))
        self.assertEqual(len(layer.styleManager().styles()), 4)
        # One endmember + residual: its 0-1 ramp is the current style.
        one = os.path.join(self.dir, "one.tif")
        gdal.Translate(one, out, bandList=[1, 5], format="GTiff")
        layer = QgsRasterLayer(one, "one")
        style.apply(layer)
        self.assertEqual(layer.renderer().type(), "singlebandpseudocolor")
        self.assertEqual(sorted(layer.styleManager().styles()), ["Abundance: EM1", "EM1", "residual_rmse"])

    # 3. Help: a Help button page, help on every parameter, the CSV layout.
    def test_3_help_url_parameter_help_and_csv_layout(self):
        from qgis.core import QgsApplication
        from qgis.PyQt.QtCore import QUrl
        for alg in self.provider.algorithms():
            url = QUrl(alg.helpUrl())
            self.assertTrue(url.isLocalFile(), alg.helpUrl())
            self.assertEqual(url.fragment(), alg.name())
            with open(url.toLocalFile(), encoding="utf-8") as f:
                page = f.read()
            self.assertIn(f'id="{alg.name()}"', page)
            self.assertIn("band,wavelength", page)
            for parameter in alg.parameterDefinitions():
                self.assertTrue(parameter.help().strip(), f"{alg.name()}:{parameter.name()} has no help")
        unmix = QgsApplication.processingRegistry().algorithmById("hyperunmix:unmix")
        self.assertIn("band,wavelength", unmix.shortHelpString())
        self.assertIn("--scale", unmix.parameterDefinition("SCALE").help())

    # 7. Threads: 0 = automatic, nothing machine-specific saved into models.
    def test_7_threads_default_is_automatic(self):
        alg = unmix_algorithm()
        self.assertEqual(alg.parameterDefinition("THREADS").defaultValue(), 0)
        self.assertNotIn("--threads", self.arguments())
        self.assertFlag(self.arguments(THREADS=3), "--threads", "3")

    # 8. Search tags, icons, the provider's Activate switch, the command shown.
    def test_8_tags_icons_activate_and_command_shown(self):
        from qgis.core import QgsSettings
        icons = set()
        for alg in self.provider.algorithms():
            self.assertIn("abundance", alg.tags())
            self.assertIn("endmember", alg.tags())
            self.assertTrue(os.path.exists(alg.svgIconPath()), alg.svgIconPath())
            self.assertFalse(alg.icon().isNull())
            icons.add(alg.svgIconPath())
            self.assertIn("hyperunmix.dll", alg.shortHelpString())  # the command that will run
        self.assertEqual(len(icons), 6)
        self.assertIn("hyperunmix.dll", self.provider.versionInfo())
        self.assertTrue(self.provider.isActive())
        try:
            self.provider.setActive(False)
            self.assertFalse(self.provider.isActive())
            self.assertFalse(QgsSettings().value("Processing/Configuration/ACTIVATE_HYPERUNMIX", True, type=bool))
        finally:
            self.provider.setActive(True)
        self.assertTrue(self.provider.isActive())


class ProgressTests(unittest.TestCase):
    """5. The log: a stage's text once, however many progress lines it has."""

    def test_stage_text_once_per_stage(self):
        start_qgis()
        from hyperunmix import command
        from qgis.core import QgsProcessingFeedback
        directory = tempfile.mkdtemp(prefix="hu-progress-")
        fake = os.path.join(directory, "fake.py")
        with open(fake, "w", encoding="utf-8") as f:
            f.write("for p, s in [(1, 'open'), (2, 'open'), (3, 'sample'), (40, 'unmix'), (41, 'unmix'), (99, 'unmix'), (100, 'done')]:\n"
                    "    print(f'PROGRESS {p} {s}')\nprint('Unmixed')\n")
        texts, progress = [], []

        class Recording(QgsProcessingFeedback):
            def setProgressText(self, text):  # noqa: N802
                texts.append(text)

            def setProgress(self, value):  # noqa: N802
                progress.append(value)

        saved = os.environ["HYPERUNMIX_COMMAND"]
        os.environ["HYPERUNMIX_COMMAND"] = f"/usr/bin/python3 {fake}"
        try:
            lines = command.run([], Recording())
        finally:
            os.environ["HYPERUNMIX_COMMAND"] = saved
            shutil.rmtree(directory, ignore_errors=True)
        self.assertEqual(texts, ["open", "sample", "unmix", "done"])
        self.assertEqual(progress, [1, 2, 3, 40, 41, 99, 100])
        self.assertEqual(lines, ["Unmixed"])


def tearDownModule():
    shutil.rmtree(os.path.dirname(SAMPLE), ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
