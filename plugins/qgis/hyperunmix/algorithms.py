"""One Processing algorithm per hyperunmix capability. Each only declares parameters and builds the command line."""
import html
import json
import os
import shutil

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QIcon

from . import command, report, results as results_viewer, style
# The methods, extractors and pixel scales, generated from the command's registries (hyperunmix plugin-choices).
from .choices import EXTRACTOR_LABELS, EXTRACTORS, METHOD_LABELS, METHODS, NORMALIZE_LABELS, NORMALIZES

SPECTRA_FILTER = "Spectra (*.csv *.sli *.hdr);;All files (*)"
PLUGIN_DIR = os.path.dirname(__file__)
HELP_FILE = os.path.join(PLUGIN_DIR, "help", "index.html")
CSV_LAYOUT = ("Endmember CSV layout: a header row, then one row per band: band number, wavelength (empty when unknown), "
              "then one column per endmember named in the header, e.g. 'band,wavelength,soil,vegetation' / '1,400,0.05,0.09'. "
              "The rows must match the scene's bands (after Bands / Drop bad bands) unless 'Resample' is ticked.")
INPUT_HELP = "The scene: ENVI (.img/.dat with .hdr, or the .hdr itself), GeoTIFF, VRT or any GDAL raster on disk, one band per wavelength."
PRODUCT_HELP = ("A sensor product instead of the raster: EnMAP *-METADATA.XML (or its image, or type its folder), EMIT L2A RFL .nc, "
                "PRISMA L2D .he5, DESIS *-SPECTRAL_IMAGE.tif. "
                "The wavelengths, FWHM, reflectance scale and quality masks (cloud, haze, ... as nodata) come from the product; "
                "the log shows what was found (hyperunmix info).")
ROI_HELP = "Only pixels whose centre is inside these polygons count (--roi); any CRS, 'selected features only' works."
# The command's defaults for the deep method; a value equal to them is not passed (shorter, readable command lines).
DEEP_DEFAULTS = {"ALPHA": 0.1, "EPOCHS": 100, "FIT_PIXELS": 10000, "ENDMEMBER_STEP": 0.0}
FRACTIONS = ["physical", "signal"]
FRACTION_LABELS = ["physical (area shares)", "signal-weighted (each material's share of the signal)"]


def _advanced(parameter):
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return parameter


def _help(parameter, text):
    parameter.setHelp(text)
    return parameter


def _number_or_nan(text):
    """'nan' or a number, as the command's --nodata / --output-nodata accept; None when not one."""
    text = (text or "").strip()
    if text.lower() == "nan":
        return "nan"
    try:
        float(text)
    except ValueError:
        return None
    return text


def _raster_path(algorithm, parameters, name, context):
    layer = algorithm.parameterAsRasterLayer(parameters, name, context)
    if layer is None:
        given = parameters.get(name)
        label = algorithm.parameterDefinition(name).description() if algorithm.parameterDefinition(name) else name
        if isinstance(given, str) and os.path.exists(given):
            # A vector file (or anything else QGIS cannot open as a raster) read as "not found" before.
            raise QgsProcessingException(f"{label}: '{given}' exists but is not a raster QGIS can open (a vector file?); choose a hyperspectral raster")
        raise QgsProcessingException(f"{label}: no raster layer given")
    path = layer.source().split("|")[0]
    if not os.path.exists(path):
        raise QgsProcessingException(f"{name}: '{layer.name()}' is not a raster file on disk ({layer.source()}); save it as GeoTIFF first")
    return path


def _not_a_raster(algorithm, parameters, name):
    """Why a file given for a raster parameter is not one (QGIS's own check says only "not found"), or None."""
    given = parameters.get(name)
    if not isinstance(given, str) or not given or not os.path.exists(given):
        return None
    # GDAL itself, read-only: a QgsRasterLayer would leave a .aux.xml beside the user's file.
    from osgeo import gdal
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        opened = gdal.OpenEx(given, gdal.OF_RASTER | gdal.OF_READONLY) is not None
    except RuntimeError:
        opened = False
    finally:
        gdal.PopErrorHandler()
    if opened:
        return None
    label = algorithm.parameterDefinition(name).description()
    return f"{label}: '{given}' exists but is not a raster QGIS can open (a vector file?); choose a hyperspectral raster"


def _product_parameter():
    return _help(QgsProcessingParameterFile("PRODUCT", "Sensor product (EnMAP METADATA.XML, EMIT .nc, PRISMA .he5, DESIS; instead of the raster)",
                                            behavior=QgsProcessingParameterFile.File,
                                            fileFilter="Sensor products (*.XML *.xml *.nc *.he5 *.tif *.hdr);;All files (*)", optional=True), PRODUCT_HELP)


def _input_layer_parameter():
    return _help(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral raster", optional=True), INPUT_HELP)


def _input_path(algorithm, parameters, context):
    """The scene the command reads: the sensor product when one is given (a file or a folder), else the raster layer's file."""
    product = (algorithm.parameterAsFile(parameters, "PRODUCT", context) or "").strip() if parameters.get("PRODUCT") else ""
    if product:
        if not os.path.exists(product):
            raise QgsProcessingException(f"Sensor product: '{product}' does not exist")
        return product
    if parameters.get("INPUT") in (None, ""):
        raise QgsProcessingException("Give a hyperspectral raster or a sensor product")
    return _raster_path(algorithm, parameters, "INPUT", context)


def _log_input(source, feedback):
    """Logs what the command reads from the input (sensor, scale, masks, bands the screening leaves out)."""
    if feedback is not None:
        feedback.pushInfo("The input as hyperunmix reads it (hyperunmix info):")
    command.run(["info", source], feedback)


def _roi_arguments(algorithm, parameters, context, feedback):
    """The ROI layer as a file the command reads; QGIS writes a temporary copy when only selected features count."""
    if parameters.get("ROI") in (None, ""):
        return []
    path = algorithm.parameterAsCompatibleSourceLayerPath(parameters, "ROI", context, ["gpkg", "shp", "geojson"], "gpkg", feedback)
    return ["--roi", path] if path else []


class _Base(QgsProcessingAlgorithm):
    def group(self):
        return "Hyperspectral unmixing"

    def groupId(self):  # noqa: N802
        return "unmixing"

    def createInstance(self):  # noqa: N802
        return type(self)()

    def tags(self):
        return ["hyperspectral", "unmixing", "spectral unmixing", "abundance", "abundances", "endmember", "endmembers",
                "hyperunmix", "imaging spectroscopy", "remote sensing"] + self.extra_tags

    extra_tags = []

    def svgIconPath(self):  # noqa: N802
        return os.path.join(PLUGIN_DIR, "icons", self.name() + ".svg")

    def icon(self):
        return QIcon(self.svgIconPath())

    def helpUrl(self):  # noqa: N802
        # A page shipped in the plugin: works offline and matches the installed version.
        return QUrl.fromLocalFile(HELP_FILE).toString() + "#" + self.name()

    def shortHelpString(self):  # noqa: N802
        text = self._help_text()
        text = text if text.startswith("<p>") else f"<p>{html.escape(text)}</p>"
        return (text + "<p>Full help (parameters, CSV layout, outputs): the Help button.</p>"
                f"<p><b>Runs:</b> <code>{html.escape(command.describe_command())} {self.name()} ...</code> "
                "(the full command line of each run is in the log).</p>")

    def _seed_parameter(self):
        return _help(_advanced(QgsProcessingParameterNumber("SEED", "Random seed (same seed, same result)", QgsProcessingParameterNumber.Integer, 42, minValue=0)),
                     "Seeds the pixel sample and VCA: the same seed on the same input gives the same bytes (--seed).")


class UnmixAlgorithm(_Base):
    extra_tags = ["fcls", "nnls", "linear mixture", "deep learning", "mtl", "fractions"]

    def name(self):
        return "unmix"

    def displayName(self):  # noqa: N802
        return "Unmix hyperspectral raster"

    def _help_text(self):
        return ("<p>Estimates per-pixel abundances of endmember materials. Output: one band per endmember (named after it) "
                "plus a residual_rmse band, on the input's grid (or the ROI's window of it), nodata outside the ROI. "
                "Endmembers come from a file, or are extracted with VCA (their number given, or estimated from the elbow of the unmixing residual). "
                "The deep method fits a two-branch network on a sample of pixels and applies it to every tile.</p>"
                "<p>Real scenes (EnMAP, AVIRIS, PRISMA): a file that declares its band scale (EnMAP L2A GeoTIFFs do) is read in "
                "reflectance already; for integers x 10000 without one, set <b>Scale factor</b> to 0.0001 (the two are never combined). Tick "
                "<b>Drop bad bands</b>, and tick <b>Resample endmember spectra</b> for a library of another sensor.</p>"
                f"<p>{CSV_LAYOUT}</p>"
                "<p>Outputs: the abundance layer (endmembers 1-3 as RGB; every endmember and the residual as a named style, "
                "right-click &gt; Styles), an HTML report in the Results Viewer, the endmember table as a table layer; the "
                "side outputs (.report.json, .sli, plots, .model.json) stay next to the raster, their paths in the log.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        P = QgsProcessingParameterNumber
        add = self.addParameter
        add(_input_layer_parameter())
        add(_product_parameter())
        add(_help(QgsProcessingParameterEnum("METHOD", "Method", options=METHOD_LABELS, defaultValue=0),
                  "mtl: the deep multi-task model (fitted on a sample, applied to every tile); fcls/nnls/scls/ucls: exact linear solvers (--method)."))
        add(_help(QgsProcessingParameterFile("ENDMEMBERS", "Endmember spectra (CSV or ENVI spectral library; empty: extract with VCA)",
                                             behavior=QgsProcessingParameterFile.File, optional=True, fileFilter=SPECTRA_FILTER),
                  CSV_LAYOUT + " (--endmembers)"))
        add(_help(QgsProcessingParameterString("ENDMEMBER_NAMES", "Endmember names to take from the spectra file (comma separated; empty: all)", optional=True),
                  "Picks some spectra of a larger library by their column / spectrum name, e.g. 'Alunite,Kaolinite' (--endmember-names)."))
        add(_help(QgsProcessingParameterBoolean("RESAMPLE", "Resample endmember spectra to the scene's wavelengths", defaultValue=False),
                  "Interpolates the spectra to the scene's wavelengths when they differ, e.g. a library of another sensor (--resample)."))
        add(_help(P("ENDMEMBER_COUNT", "Number of endmembers (empty: estimated)", P.Integer, optional=True, minValue=1),
                  "How many endmembers VCA extracts when no spectra file is given (-p); empty: estimated from the elbow of the unmixing residual."))
        add(_help(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True),
                  "Only pixels whose centre is inside these polygons are unmixed; the output covers their window (--roi). Any CRS."))
        add(_help(_advanced(QgsProcessingParameterEnum("EXTRACTOR", "Endmember extraction", options=EXTRACTOR_LABELS, defaultValue=0)),
                  "N-FINDR's volume-maximising swaps from VCA's pixels (default), or VCA alone (--extractor)."))
        add(_help(_advanced(QgsProcessingParameterBoolean("REFINE", "Refine extracted endmembers (convex combinations of pixels)", defaultValue=True)),
                  "Archetypal refinement of the extracted endmembers, kept only when it lowers the residual, then their projection onto "
                  "the signal subspace HySime finds (removes the pixels' noise); off: --no-refine."))
        add(_help(_advanced(QgsProcessingParameterEnum("NORMALIZE", "Pixel brightness", options=NORMALIZE_LABELS, defaultValue=0)),
                  "automatic: for mtl the run tests whether brightness varies by shading (then the scaled model y = s E a) or by "
                  "composition (then the plain model, which keeps dark materials such as water), and logs its decision; none for the "
                  "classic solvers; scale: a per-pixel brightness factor (illumination, shading); l2: unit-length pixels; none: the "
                  "plain mixing model (--normalize)."))
        add(_help(_advanced(QgsProcessingParameterEnum("FRACTIONS", "Fractions", options=FRACTION_LABELS, defaultValue=0)),
                  "physical: area shares (default); signal-weighted: each material's share of the pixel's signal, the convention of "
                  "brightness-weighted references such as Samson's (--fractions)."))
        add(_help(P("SCALE", "Scale factor for input values (0.0001 for reflectance x 10000)", P.Double, 1.0, minValue=0.0),
                  "Multiplies every input value so the scene and the endmember spectra share units (--scale). Reflectance stored as "
                  "integers x 10000 without a declared band scale needs 0.0001. A file that declares its own scale (EnMAP L2A "
                  "GeoTIFFs) is read with it, and a factor here is then refused rather than applied twice."))
        add(_help(QgsProcessingParameterBoolean("DROP_BAD_BANDS", "Drop the bad bands flagged in the header (ENVI bbl)", defaultValue=False),
                  "Leaves out water-vapour and noisy bands the ENVI header marks 0 in 'bbl' (--drop-bad-bands)."))
        add(_help(_advanced(QgsProcessingParameterString("BANDS", "Bands to use, 1-based (e.g. 1-100,120-150; empty: all)", optional=True)),
                  "Band ranges to use, 1-based, comma separated (--bands)."))
        add(_help(_advanced(QgsProcessingParameterString("NODATA", "Input nodata value for every band (a number or nan; empty: the file's)", optional=True)),
                  "Overrides the file's nodata value for every band (--nodata)."))
        add(_help(_advanced(QgsProcessingParameterBoolean("NAN_AS_NODATA", "Treat NaN and infinite input values as nodata", defaultValue=False)),
                  "Without it, non-finite samples are an error unless they are the band's nodata value (--nan-as-nodata)."))
        add(_help(_advanced(QgsProcessingParameterFile("MODEL", "Apply a fitted deep model (.model.json) instead of fitting",
                                                       behavior=QgsProcessingParameterFile.File, optional=True, fileFilter="Model (*.json)")),
                  "A .model.json written by an earlier deep run on the same sensor; nothing is fitted (--model)."))
        add(_help(_advanced(P("ALPHA", "Deep method: weight of the auxiliary NMF task", P.Double, DEEP_DEFAULTS["ALPHA"], minValue=0.0)),
                  "mtl only (--alpha)."))
        add(_help(_advanced(P("EPOCHS", "Deep method: maximum training epochs", P.Integer, DEEP_DEFAULTS["EPOCHS"], minValue=1)),
                  "mtl only (--epochs)."))
        add(_help(_advanced(P("FIT_PIXELS", "Deep method: pixels the model is fitted on", P.Integer, DEEP_DEFAULTS["FIT_PIXELS"], minValue=1)),
                  "mtl only; all valid pixels when there are fewer (--fit-pixels)."))
        add(_help(_advanced(P("ENDMEMBER_STEP", "Deep method: largest endmember step (0 keeps endmembers fixed)", P.Double, DEEP_DEFAULTS["ENDMEMBER_STEP"], minValue=0.0)),
                  "mtl only; > 0 also trains the row (endmember) branch (--endmember-step)."))
        add(_help(_advanced(P("TILE", "Tile size (pixels)", P.Integer, 256, minValue=16)), "Tile side in pixels (--tile); results do not depend on it."))
        add(_help(_advanced(P("THREADS", "Threads (0: automatic, every core)", P.Integer, 0, minValue=0)),
                  "0 lets the command use every core of the machine that runs it (a saved model stays portable); otherwise --threads."))
        add(_help(_advanced(P("MEMORY", "Memory budget (MB)", P.Integer, 1024, minValue=16)), "Memory for tiles in flight (--memory)."))
        add(self._seed_parameter())
        add(_help(_advanced(QgsProcessingParameterString("OUTPUT_NODATA", "Output nodata value (a number or nan)", defaultValue="-9999")),
                  "Written where the input is nodata or outside the ROI (--output-nodata)."))
        add(_help(_advanced(QgsProcessingParameterBoolean("COG", "Write a Cloud-Optimized GeoTIFF (with overviews)", defaultValue=False)),
                  "--format cog; an output named .img/.dat/.bsq is written as ENVI instead."))
        add(_help(QgsProcessingParameterRasterDestination("OUTPUT", "Abundances"),
                  "One band per endmember plus residual_rmse. Side outputs are written next to it, also for a temporary output."))
        add(_help(QgsProcessingParameterFileDestination("REPORT_HTML", "HTML report (endmember plot, abundance thumbnails, run summary)",
                                                        "HTML files (*.html)", optional=True, createByDefault=True),
                  "Shown in the Results Viewer."))
        add(_help(QgsProcessingParameterFileDestination("ENDMEMBERS_OUTPUT", "Endmember table (CSV, loaded as a table layer)", "CSV files (*.csv)",
                                                        optional=True, createByDefault=True),
                  "The endmember spectra: band, wavelength, one column per endmember."))
        add(_help(QgsProcessingParameterFileDestination("MODEL_OUTPUT", "Fitted deep model", "Model (*.json)", optional=True, createByDefault=False),
                  "The fitted deep model, to apply to other scenes of the same sensor."))
        self.addOutput(QgsProcessingOutputString("REPORT", "Run report (JSON file)"))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_FOLDER", "Folder of the abundance raster and its side outputs"))
        self.addOutput(QgsProcessingOutputString("SIDE_OUTPUTS", "Side outputs (paths, one per line)"))
        self.addOutput(QgsProcessingOutputFile("SPECTRAL_LIBRARY", "Endmember spectral library (ENVI .sli)"))
        self.addOutput(QgsProcessingOutputFile("ENDMEMBER_PLOT", "Endmember plot (PNG)"))
        self.addOutput(QgsProcessingOutputFile("ABUNDANCE_PREVIEW", "Abundance quick-look (PNG)"))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        for name in ("NODATA", "OUTPUT_NODATA"):
            text = self.parameterAsString(parameters, name, context)
            if text.strip() and _number_or_nan(text) is None:
                return False, f"{self.parameterDefinition(name).description()}: '{text}' is neither a number nor nan"
        if self.parameterAsDouble(parameters, "SCALE", context) <= 0:
            return False, "Scale factor must be greater than 0"
        if parameters.get("INPUT") in (None, "") and not parameters.get("PRODUCT"):
            return False, "Give a hyperspectral raster or a sensor product"
        problem = _not_a_raster(self, parameters, "INPUT")
        if problem:
            return False, problem
        # Checked before launch, in the dialog's words (the command would refuse it only after starting, naming -p).
        if parameters.get("ENDMEMBER_COUNT") not in (None, "") and self.parameterAsFile(parameters, "ENDMEMBERS", context):
            return False, (f"Give either '{self.parameterDefinition('ENDMEMBERS').description()}' or "
                           f"'{self.parameterDefinition('ENDMEMBER_COUNT').description()}', not both")
        return super().checkParameterValues(parameters, context)

    def commandArguments(self, parameters, context, feedback, output):  # noqa: N802
        """The hyperunmix arguments for these parameters (what processAlgorithm runs)."""
        source = _input_path(self, parameters, context)
        method = METHODS[self.parameterAsEnum(parameters, "METHOD", context)]
        arguments = ["unmix", source, "-o", output, "--method", method, "--overwrite",
                     "--tile", self.parameterAsInt(parameters, "TILE", context),
                     "--memory", self.parameterAsInt(parameters, "MEMORY", context),
                     "--seed", self.parameterAsInt(parameters, "SEED", context)]
        threads = self.parameterAsInt(parameters, "THREADS", context)
        if threads > 0:  # 0: the command's own default, every core of the machine it runs on
            arguments += ["--threads", threads]
        envi = output.lower().endswith((".img", ".dat", ".bsq"))
        if envi:
            arguments += ["--format", "envi"]
        elif self.parameterAsBoolean(parameters, "COG", context):
            arguments += ["--format", "cog"]
        output_nodata = _number_or_nan(self.parameterAsString(parameters, "OUTPUT_NODATA", context))
        if output_nodata is not None and output_nodata != "-9999":
            arguments += ["--output-nodata", output_nodata]
        endmembers = self.parameterAsFile(parameters, "ENDMEMBERS", context)
        if endmembers:
            arguments += ["--endmembers", endmembers]
        names = ",".join(n.strip() for n in self.parameterAsString(parameters, "ENDMEMBER_NAMES", context).split(",") if n.strip())
        if names:
            arguments += ["--endmember-names", names]
        if self.parameterAsBoolean(parameters, "RESAMPLE", context):
            arguments.append("--resample")
        if parameters.get("ENDMEMBER_COUNT") not in (None, ""):
            arguments += ["-p", self.parameterAsInt(parameters, "ENDMEMBER_COUNT", context)]
        scale = self.parameterAsDouble(parameters, "SCALE", context)
        if scale != 1.0:
            arguments += ["--scale", repr(scale)]
        bands = self.parameterAsString(parameters, "BANDS", context).replace(" ", "")
        if bands:
            arguments += ["--bands", bands]
        if self.parameterAsBoolean(parameters, "DROP_BAD_BANDS", context):
            arguments.append("--drop-bad-bands")
        nodata = _number_or_nan(self.parameterAsString(parameters, "NODATA", context))
        if nodata is not None:
            arguments += ["--nodata", nodata]
        if self.parameterAsBoolean(parameters, "NAN_AS_NODATA", context):
            arguments.append("--nan-as-nodata")
        model = self.parameterAsFile(parameters, "MODEL", context)
        if model:
            arguments += ["--model", model]
        elif method == "mtl":
            for name, flag, read in (("ALPHA", "--alpha", self.parameterAsDouble), ("EPOCHS", "--epochs", self.parameterAsInt),
                                     ("FIT_PIXELS", "--fit-pixels", self.parameterAsInt), ("ENDMEMBER_STEP", "--endmember-step", self.parameterAsDouble)):
                value = read(parameters, name, context)
                if value != DEEP_DEFAULTS[name]:
                    arguments += [flag, repr(value) if isinstance(value, float) else value]
        extractor = EXTRACTORS[self.parameterAsEnum(parameters, "EXTRACTOR", context)]
        if extractor != "nfindr":
            arguments += ["--extractor", extractor]
        if not self.parameterAsBoolean(parameters, "REFINE", context):
            arguments.append("--no-refine")
        normalize = NORMALIZES[self.parameterAsEnum(parameters, "NORMALIZE", context)]
        if normalize != "auto":
            arguments += ["--normalize", normalize]
        fractions = FRACTIONS[self.parameterAsEnum(parameters, "FRACTIONS", context)]
        if fractions != "physical":
            arguments += ["--fractions", fractions]
        arguments += _roi_arguments(self, parameters, context, feedback)
        return arguments

    def flagLabels(self):  # noqa: N802
        """Command option -> the dialog's label, so an error that says 'pass --resample' also names the checkbox."""
        return {flag: self.parameterDefinition(name).description() for flag, name in (
            ("--resample", "RESAMPLE"), ("--nan-as-nodata", "NAN_AS_NODATA"), ("--drop-bad-bands", "DROP_BAD_BANDS"), ("--scale", "SCALE"),
            ("--bands", "BANDS"), ("--nodata", "NODATA"), ("--endmember-names", "ENDMEMBER_NAMES"), ("--model", "MODEL"),
            ("--output-nodata", "OUTPUT_NODATA"), ("--epochs", "EPOCHS"), ("--fit-pixels", "FIT_PIXELS"), ("--alpha", "ALPHA"),
            ("--endmember-step", "ENDMEMBER_STEP"), ("--endmembers", "ENDMEMBERS"))}

    def layerName(self, parameters, context):  # noqa: N802
        """'<input> abundances (<method>)': tells runs apart in the Layers panel."""
        layer = self.parameterAsRasterLayer(parameters, "INPUT", context) if parameters.get("INPUT") not in (None, "") else None
        product = parameters.get("PRODUCT")
        source = os.path.basename(str(product).rstrip("/\\")) if product else layer.name() if layer is not None else "input"
        method = METHODS[self.parameterAsEnum(parameters, "METHOD", context)].upper()
        if self.parameterAsFile(parameters, "MODEL", context):
            method += " model " + os.path.basename(self.parameterAsFile(parameters, "MODEL", context)).replace(".model.json", "")
        return f"{source} abundances ({method})", f"{source} endmembers ({method})"

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        arguments = self.commandArguments(parameters, context, feedback, output)
        _log_input(arguments[1], feedback)
        command.run(arguments, feedback, flag_labels=self.flagLabels())
        style.set_undefined_colour_interpretation(output)

        stem = os.path.splitext(output)[0]
        raster_name, table_name = self.layerName(parameters, context)
        if context.willLoadLayerOnCompletion(output):
            context.layerToLoadOnCompletionDetails(output).name = raster_name
        side = [p for p in (stem + s for s in (".report.json", ".endmembers.csv", ".endmembers.sli", ".endmembers.hdr", ".endmembers.png",
                                                ".abundances.png", ".qml", ".model.json")) if os.path.exists(p)]
        results = {"OUTPUT": output, "REPORT": stem + ".report.json", "OUTPUT_FOLDER": os.path.dirname(output),
                   "SIDE_OUTPUTS": "\n".join(side)}
        for name, suffix in (("SPECTRAL_LIBRARY", ".endmembers.sli"), ("ENDMEMBER_PLOT", ".endmembers.png"), ("ABUNDANCE_PREVIEW", ".abundances.png")):
            if os.path.exists(stem + suffix):
                results[name] = stem + suffix
        feedback.pushInfo("Side outputs, next to the abundance raster:\n  " + "\n  ".join(side))
        for name, suffix in (("ENDMEMBERS_OUTPUT", ".endmembers.csv"), ("MODEL_OUTPUT", ".model.json")):
            destination = self.parameterAsFileOutput(parameters, name, context)
            if destination and os.path.exists(stem + suffix):
                if os.path.abspath(destination) != os.path.abspath(stem + suffix):
                    shutil.copyfile(stem + suffix, destination)
                results[name] = destination
        table = results.get("ENDMEMBERS_OUTPUT")
        if table:
            self._write_csvt(table)
            if context.project() is not None:
                details = QgsProcessingContext.LayerDetails(table_name, context.project(), "ENDMEMBERS_OUTPUT", QgsProcessingUtils.LayerHint.Vector)
                context.addLayerToLoadOnCompletion(table, details)
        html_path = self.parameterAsFileOutput(parameters, "REPORT_HTML", context)
        if html_path:
            full = " ".join(str(a) for a in (command.configured_command() or []) + arguments)
            results["REPORT_HTML"] = report.write(html_path, output, raster_name, full)
            # Its Results Viewer entry names the input and counts runs (QGIS 3.22's Batch dialog needs results.patch()).
            results_viewer.label(results["REPORT_HTML"], os.path.basename(str(arguments[1]).rstrip("/")))
        self._output = output
        return results

    @staticmethod
    def _write_csvt(table):
        # Column types for OGR's CSV reader: the table layer gets numbers, not text.
        with open(table, encoding="utf-8") as f:
            columns = len(f.readline().split(","))
        with open(table + "t", "w", encoding="utf-8") as f:
            f.write(",".join(["Integer"] + ["Real"] * (columns - 1)) + "\n")

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        # Band names come from the file; the renderer and one named style per band from style.apply.
        output = getattr(self, "_output", None)
        if output:
            layer = QgsProcessingUtils.mapLayerFromString(output, context)
            if layer is not None:
                left_out = style.apply(layer)
                if left_out:
                    feedback.pushInfo(f"Red, green, blue show {', '.join(style.band_names(layer)[:3])}; {', '.join(left_out)} and residual_rmse "
                                      "have their own styles: right-click the layer > Styles.")
                layer.triggerRepaint()
        return {}


class EndmembersAlgorithm(_Base):
    extra_tags = ["vca", "spectral library", "spectra", "extraction"]

    def name(self):
        return "endmembers"

    def displayName(self):  # noqa: N802
        return "Extract endmembers (VCA)"

    def _help_text(self):
        return "Extracts endmember spectra with VCA on a stratified sample of valid pixels; writes CSV, an ENVI spectral library and a plot next to it. " + CSV_LAYOUT

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(_input_layer_parameter())
        self.addParameter(_product_parameter())
        self.addParameter(_help(QgsProcessingParameterNumber("ENDMEMBER_COUNT", "Number of endmembers (empty: estimated)",
                                                             QgsProcessingParameterNumber.Integer, optional=True, minValue=1),
                                "How many spectra VCA extracts (-p); empty: estimated from the elbow of the unmixing residual."))
        self.addParameter(_help(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True), ROI_HELP))
        self.addParameter(self._seed_parameter())
        self.addParameter(_help(QgsProcessingParameterFileDestination("OUTPUT", "Endmember spectra (CSV)", "CSV files (*.csv)"),
                                "CSV (band, wavelength, one column per endmember); an ENVI .sli and a .png plot are written next to it."))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        source = _input_path(self, parameters, context)
        _log_input(source, feedback)
        arguments = ["endmembers", source, "-o", output, "--overwrite",
                     "--seed", self.parameterAsInt(parameters, "SEED", context)]
        if parameters.get("ENDMEMBER_COUNT") not in (None, ""):
            arguments += ["-p", self.parameterAsInt(parameters, "ENDMEMBER_COUNT", context)]
        arguments += _roi_arguments(self, parameters, context, feedback)
        command.run(arguments, feedback)
        return {"OUTPUT": output}


class EstimateAlgorithm(_Base):
    extra_tags = ["hysime", "elbow", "subspace", "number of endmembers"]

    def name(self):
        return "estimate"

    def displayName(self):  # noqa: N802
        return "Estimate number of endmembers"

    def _help_text(self):
        return ("Estimates the number of endmembers as the elbow of the unmixing residual (what the unmix algorithm uses when "
                "the number is left empty), with HySime as a second opinion, on a stratified sample of valid pixels.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(_input_layer_parameter())
        self.addParameter(_product_parameter())
        self.addParameter(_help(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True), ROI_HELP))
        self.addParameter(self._seed_parameter())
        self.addOutput(QgsProcessingOutputNumber("ENDMEMBER_COUNT", "Number of endmembers"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        source = _input_path(self, parameters, context)
        _log_input(source, feedback)
        arguments = ["estimate", source, "--json", "--seed", self.parameterAsInt(parameters, "SEED", context)]
        arguments += _roi_arguments(self, parameters, context, feedback)
        result = json.loads("\n".join(command.run(arguments, feedback)))
        feedback.pushInfo(f"Endmembers: {result['endmembers']}" + (" (uncertain: a close call)" if result["uncertain"] else "")
                          + f"; HySime (second opinion): {result['hysime']}")
        return {"ENDMEMBER_COUNT": result["endmembers"]}


class EvaluateAlgorithm(_Base):
    extra_tags = ["sad", "spectral angle", "rmse", "accuracy", "ground truth"]

    def name(self):
        return "evaluate"

    def displayName(self):  # noqa: N802
        return "Evaluate against ground truth"

    def _help_text(self):
        return ("Scores an abundance raster written by 'Unmix' against ground truth: spectral angle (SAD) of the endmembers and "
                "abundance RMSE, with endmembers matched by the Hungarian method.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(_help(QgsProcessingParameterRasterLayer("INPUT", "Abundance raster (from Unmix)"), "An abundance raster written by Unmix."))
        self.addParameter(_help(QgsProcessingParameterRasterLayer("TRUTH", "Ground-truth abundances", optional=True),
                                "One band per reference endmember, same grid as the scene (--truth)."))
        self.addParameter(_help(QgsProcessingParameterFile("TRUTH_ENDMEMBERS", "Ground-truth endmember spectra", optional=True, fileFilter=SPECTRA_FILTER),
                                CSV_LAYOUT + " (--truth-endmembers)"))
        self.addParameter(_help(QgsProcessingParameterFile("ESTIMATED_ENDMEMBERS", "Estimated endmember spectra (default: the run's .endmembers.csv)",
                                                           optional=True, fileFilter=SPECTRA_FILTER), "(--endmembers)"))
        self.addParameter(_help(QgsProcessingParameterEnum("MATCH", "Match endmembers on", options=["spectral angle", "abundance RMSE"], defaultValue=0),
                                "How estimated and reference endmembers are paired by the Hungarian method (--match)."))
        self.addParameter(_help(QgsProcessingParameterFileDestination("OUTPUT", "Scores (JSON)", "JSON files (*.json)", optional=True, createByDefault=False),
                                "The scores as the command prints them with --json."))
        self.addOutput(QgsProcessingOutputNumber("MEAN_SAD_DEG", "Mean SAD (degrees)"))
        self.addOutput(QgsProcessingOutputNumber("MEAN_SAD_RAD", "Mean SAD (radians)"))
        self.addOutput(QgsProcessingOutputNumber("ABUNDANCE_RMSE", "Abundance RMSE"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        arguments = ["evaluate", _raster_path(self, parameters, "INPUT", context), "--json",
                     "--match", ["sad", "abundance"][self.parameterAsEnum(parameters, "MATCH", context)]]
        if parameters.get("TRUTH") not in (None, ""):
            arguments += ["--truth", _raster_path(self, parameters, "TRUTH", context)]
        for name, flag in (("TRUTH_ENDMEMBERS", "--truth-endmembers"), ("ESTIMATED_ENDMEMBERS", "--endmembers")):
            value = self.parameterAsFile(parameters, name, context)
            if value:
                arguments += [flag, value]
        text = "\n".join(command.run(arguments, feedback))
        scores = json.loads(text)
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        results = {"MEAN_SAD_DEG": scores.get("mean_sad_deg"), "MEAN_SAD_RAD": scores.get("mean_sad_rad"), "ABUNDANCE_RMSE": scores.get("abundance_rmse")}
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
            results["OUTPUT"] = output
        return results


LIBRARY_FILTER = "Spectral libraries (*.sli *.hdr *.csv *.gpkg *.geojson *.txt);;All files (*)"


class MesmaAlgorithm(_Base):
    extra_tags = ["mesma", "spectral library", "class fractions", "fractions", "shade", "viper", "multiple endmember"]

    def name(self):
        return "mesma"

    def displayName(self):  # noqa: N802
        return "Class fractions (MESMA)"

    def _help_text(self):
        return ("<p>MESMA (Roberts et al. 1998) with a classed spectral library: each pixel tries every model of 2-3 library "
                "spectra (at most one per class) plus shade and keeps the best that meets the constraints. Output: one fraction "
                "band per class, then shade, rmse and model (index into OUT's .models.csv, -1 where no model fits).</p>"
                "<p>Library: ENVI .sli (EnMAP-Box class sidecars .csv/.json beside it), CSV (band,wavelength_nm,... one row per "
                "band, class rows after the header) or EnMAP-Box .gpkg/.geojson. The scene must be reflectance 0-1 after its "
                "band scale and the Scale factor.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        add = self.addParameter
        add(_help(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral raster"), INPUT_HELP))
        add(_help(QgsProcessingParameterFile("LIBRARY", "Spectral library with classes (file)", behavior=QgsProcessingParameterFile.File,
                                             fileFilter=LIBRARY_FILTER, optional=True),
                  "The library (--library): .sli with EnMAP-Box sidecars, our CSV, an EnMAP-Box GeoPackage/GeoJSON, or a USGS "
                  "splib07 / ECOSTRESS spectrum file. Or give it as a layer below."))
        add(_help(QgsProcessingParameterFeatureSource("LIBRARY_LAYER", "... or a spectral library layer (EnMAP-Box GeoPackage/GeoJSON)",
                                                      [QgsProcessing.TypeVector], optional=True),
                  "A library loaded in the project (one feature per spectrum, a 'profiles' field); 'selected features only' "
                  "unmixes with the selected spectra alone."))
        add(_help(QgsProcessingParameterString("CLASS_FIELD", "Class field (empty: the library's first, e.g. level_1)", optional=True),
                  "The library's class column whose classes get a fraction band each (--class-field)."))
        add(_help(QgsProcessingParameterString("LEVELS", "Library spectra per model (comma separated, 1-4)", defaultValue="2,3"),
                  "Model sizes tried, shade on top (--levels)."))
        add(_help(_advanced(QgsProcessingParameterNumber("MIN_RMSE_GAIN", "Minimum RMSE gain for a higher level", QgsProcessingParameterNumber.Double,
                                                         0.0005, minValue=0)),
                  "A larger model replaces a smaller one only when its RMSE is lower by at least this (--min-rmse-gain)."))
        add(_help(QgsProcessingParameterBoolean("DROP_UNCOVERED", "Leave out scene bands the library does not cover", defaultValue=True),
                  "Scene bands without library samples near them are left out instead of refused (--drop-uncovered-bands)."))
        add(_help(QgsProcessingParameterNumber("SCALE", "Scale factor", QgsProcessingParameterNumber.Double, 1.0, minValue=0),
                  "Multiply input values by this after the file's own scale (--scale), e.g. 0.0001 for reflectance x 10000."))
        add(_help(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True), ROI_HELP))
        add(_help(QgsProcessingParameterRasterDestination("OUTPUT", "Class fractions"),
                  "One band per class, shade, rmse, model; OUT.models.csv and OUT.qml are written next to it."))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        library = self.parameterAsFile(parameters, "LIBRARY", context)
        if not library:
            if parameters.get("LIBRARY_LAYER") is None:
                raise QgsProcessingException("Give a spectral library: a file (LIBRARY) or a layer (LIBRARY_LAYER)")
            library = self.parameterAsCompatibleSourceLayerPath(parameters, "LIBRARY_LAYER", context, ["gpkg", "geojson"], "gpkg", feedback)
        arguments = ["mesma", _raster_path(self, parameters, "INPUT", context), "--library", library,
                     "--levels", self.parameterAsString(parameters, "LEVELS", context),
                     "--min-rmse-gain", repr(self.parameterAsDouble(parameters, "MIN_RMSE_GAIN", context)),
                     "-o", output, "--overwrite"]
        field = self.parameterAsString(parameters, "CLASS_FIELD", context)
        if field:
            arguments += ["--class-field", field]
        if self.parameterAsBool(parameters, "DROP_UNCOVERED", context):
            arguments += ["--drop-uncovered-bands"]
        scale = self.parameterAsDouble(parameters, "SCALE", context)
        if scale != 1.0:
            arguments += ["--scale", repr(scale)]
        arguments += _roi_arguments(self, parameters, context, feedback)
        command.run(arguments, feedback)
        style.set_undefined_colour_interpretation(output)
        self._output = output
        return {"OUTPUT": output}

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        # A named style per band, each class in its colour (the library's, else a fixed palette; see style.apply_classes).
        output = getattr(self, "_output", None)
        if output:
            layer = QgsProcessingUtils.mapLayerFromString(output, context)
            colours = style.class_colours(output)
            if layer is not None and colours:
                style.apply_classes(layer, colours)
                feedback.pushInfo("Each class has a style in its colour (white = 0, the class colour = 1): right-click the layer > Styles. "
                                  "Colours: " + ", ".join(f"{name} {colour}" for name, colour in colours.items()))
                layer.triggerRepaint()
        return {}


class LibraryFromPolygonsAlgorithm(_Base):
    extra_tags = ["spectral library", "training", "polygons", "mesma", "spectra"]

    def name(self):
        return "library_from_polygons"

    def displayName(self):  # noqa: N802
        return "Spectral library from polygons or points"

    def _help_text(self):
        return ("Builds a classed spectral library from polygons or points over a scene: one spectrum per feature (the mean of "
                "its valid pixels: inside the polygon, or in the window around each point) or per pixel, classed by a field, at the "
                "scene's wavelengths. The CSV feeds 'Class fractions (MESMA)'.")

    def initAlgorithm(self, config=None):  # noqa: N802
        from qgis.core import QgsProcessingParameterField
        add = self.addParameter
        add(_help(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral raster"), INPUT_HELP))
        add(_help(QgsProcessingParameterFeatureSource("POLYGONS", "Polygons or points", [QgsProcessing.TypeVectorPolygon, QgsProcessing.TypeVectorPoint]),
                  "One spectrum source per feature (--roi): polygons, or points such as field samples; 'selected features only' works."))
        add(_help(QgsProcessingParameterField("CLASS_FIELD", "Class field", parentLayerParameterName="POLYGONS"),
                  "The polygons' field naming each one's class (--class-field)."))
        add(_help(QgsProcessingParameterBoolean("EVERY_PIXEL", "One spectrum per pixel (instead of the polygon's mean)", defaultValue=False),
                  "Every valid pixel inside a polygon or point window becomes a spectrum (--every-pixel)."))
        add(_help(QgsProcessingParameterNumber("POINT_WINDOW", "Window around each point (pixels, odd)", QgsProcessingParameterNumber.Integer, 1,
                                               minValue=1, maxValue=101),
                  "For points: the side of the pixel window centred on each point; 1 takes the pixel the point falls in (--point-window)."))
        add(_help(QgsProcessingParameterNumber("SCALE", "Scale factor", QgsProcessingParameterNumber.Double, 1.0, minValue=0),
                  "Multiply values by this after the file's own scale (--scale), e.g. 0.0001 for reflectance x 10000."))
        add(_help(QgsProcessingParameterFileDestination("OUTPUT", "Spectral library (CSV)", "CSV files (*.csv)"),
                  "Library CSV (band,wavelength_nm,fwhm_nm, one column per spectrum, the class row after the header)."))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        polygons = self.parameterAsCompatibleSourceLayerPath(parameters, "POLYGONS", context, ["gpkg", "shp", "geojson"], "gpkg", feedback)
        fields = self.parameterAsFields(parameters, "CLASS_FIELD", context)
        if not fields:
            raise QgsProcessingException("CLASS_FIELD: no field given")
        arguments = ["library", "from-roi", _raster_path(self, parameters, "INPUT", context), "--roi", polygons,
                     "--class-field", fields[0], "-o", output, "--overwrite"]
        if self.parameterAsBool(parameters, "EVERY_PIXEL", context):
            arguments += ["--every-pixel"]
        window = self.parameterAsInt(parameters, "POINT_WINDOW", context)
        if window != 1:
            arguments += ["--point-window", str(window)]
        scale = self.parameterAsDouble(parameters, "SCALE", context)
        if scale != 1.0:
            arguments += ["--scale", repr(scale)]
        command.run(arguments, feedback)
        return {"OUTPUT": output}
