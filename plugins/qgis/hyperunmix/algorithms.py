"""One Processing algorithm per hyperunmix capability. Each only declares parameters and builds the command line."""
import json
import os
import shutil

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
)

from . import command

METHODS = ["mtl", "fcls", "nnls", "scls", "ucls"]
METHOD_LABELS = [
    "Deep multi-task (Mehrdad & Janani)",
    "FCLS (non-negative, sum-to-one)",
    "NNLS (non-negative)",
    "SCLS (sum-to-one)",
    "UCLS (unconstrained)",
]
SPECTRA_FILTER = "Spectra (*.csv *.sli *.hdr);;All files (*)"


def _advanced(parameter):
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return parameter


def _raster_path(algorithm, parameters, name, context):
    layer = algorithm.parameterAsRasterLayer(parameters, name, context)
    if layer is None:
        raise QgsProcessingException(f"{name}: no raster layer given")
    path = layer.source().split("|")[0]
    if not os.path.exists(path):
        raise QgsProcessingException(f"{name}: '{layer.name()}' is not a raster file on disk ({layer.source()}); save it as GeoTIFF first")
    return path


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

    def _seed_parameter(self):
        return _advanced(QgsProcessingParameterNumber("SEED", "Random seed (same seed, same result)", QgsProcessingParameterNumber.Integer, 42, minValue=0))


class UnmixAlgorithm(_Base):
    def name(self):
        return "unmix"

    def displayName(self):  # noqa: N802
        return "Unmix hyperspectral raster"

    def shortHelpString(self):  # noqa: N802
        return ("Estimates per-pixel abundances of endmember materials. Output: one band per endmember (named after it) "
                "plus a residual_rmse band, on the input's grid (or the ROI's window of it), nodata outside the ROI. "
                "Endmembers come from a file, or are extracted with VCA (their number given, or estimated with HySime). "
                "The deep method fits a two-branch network on a sample of pixels and applies it to every tile.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral raster"))
        self.addParameter(QgsProcessingParameterEnum("METHOD", "Method", options=METHOD_LABELS, defaultValue=0))
        self.addParameter(QgsProcessingParameterFile("ENDMEMBERS", "Endmember spectra (CSV or ENVI spectral library; empty: extract with VCA)",
                                                     behavior=QgsProcessingParameterFile.File, optional=True, fileFilter=SPECTRA_FILTER))
        self.addParameter(QgsProcessingParameterNumber("ENDMEMBER_COUNT", "Number of endmembers (empty: HySime estimate)",
                                                       QgsProcessingParameterNumber.Integer, optional=True, minValue=1))
        self.addParameter(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(_advanced(QgsProcessingParameterFile("MODEL", "Apply a fitted deep model (.model.json) instead of fitting",
                                                               behavior=QgsProcessingParameterFile.File, optional=True, fileFilter="Model (*.json)")))
        self.addParameter(_advanced(QgsProcessingParameterNumber("TILE", "Tile size (pixels)", QgsProcessingParameterNumber.Integer, 256, minValue=16)))
        self.addParameter(_advanced(QgsProcessingParameterNumber("THREADS", "Threads", QgsProcessingParameterNumber.Integer, os.cpu_count() or 1, minValue=1)))
        self.addParameter(_advanced(QgsProcessingParameterNumber("MEMORY", "Memory budget (MB)", QgsProcessingParameterNumber.Integer, 1024, minValue=16)))
        self.addParameter(self._seed_parameter())
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Abundances"))
        self.addParameter(QgsProcessingParameterFileDestination("ENDMEMBERS_OUTPUT", "Endmember spectra (CSV)", "CSV files (*.csv)",
                                                                optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination("MODEL_OUTPUT", "Fitted deep model", "Model (*.json)",
                                                                optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputString("REPORT", "Run report (JSON file)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        source = _raster_path(self, parameters, "INPUT", context)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        method = METHODS[self.parameterAsEnum(parameters, "METHOD", context)]
        arguments = ["unmix", source, "-o", output, "--method", method, "--overwrite",
                     "--tile", self.parameterAsInt(parameters, "TILE", context),
                     "--threads", self.parameterAsInt(parameters, "THREADS", context),
                     "--memory", self.parameterAsInt(parameters, "MEMORY", context),
                     "--seed", self.parameterAsInt(parameters, "SEED", context)]
        if output.lower().endswith((".img", ".dat", ".bsq")):
            arguments += ["--format", "envi"]
        endmembers = self.parameterAsFile(parameters, "ENDMEMBERS", context)
        if endmembers:
            arguments += ["--endmembers", endmembers]
        if parameters.get("ENDMEMBER_COUNT") not in (None, ""):
            arguments += ["-p", self.parameterAsInt(parameters, "ENDMEMBER_COUNT", context)]
        model = self.parameterAsFile(parameters, "MODEL", context)
        if model:
            arguments += ["--model", model]
        arguments += _roi_arguments(self, parameters, context, feedback)
        command.run(arguments, feedback)

        stem = os.path.splitext(output)[0]
        results = {"OUTPUT": output, "REPORT": stem + ".report.json"}
        for name, side in (("ENDMEMBERS_OUTPUT", ".endmembers.csv"), ("MODEL_OUTPUT", ".model.json")):
            destination = self.parameterAsFileOutput(parameters, name, context)
            if destination and os.path.exists(stem + side):
                shutil.copyfile(stem + side, destination)
                results[name] = destination
        self._output = output
        return results

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        # Band names come from the file; the style (first three endmembers as RGB over [0, 1]) from <raster>.qml.
        output = getattr(self, "_output", None)
        if output:
            layer = QgsProcessingUtils.mapLayerFromString(output, context)
            qml = os.path.splitext(output)[0] + ".qml"
            if layer is not None and os.path.exists(qml):
                layer.loadNamedStyle(qml)
                layer.triggerRepaint()
        return {}


class EndmembersAlgorithm(_Base):
    def name(self):
        return "endmembers"

    def displayName(self):  # noqa: N802
        return "Extract endmembers (VCA)"

    def shortHelpString(self):  # noqa: N802
        return "Extracts endmember spectra with VCA on a stratified sample of valid pixels; writes CSV, an ENVI spectral library and a plot next to it."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral raster"))
        self.addParameter(QgsProcessingParameterNumber("ENDMEMBER_COUNT", "Number of endmembers (empty: HySime estimate)",
                                                       QgsProcessingParameterNumber.Integer, optional=True, minValue=1))
        self.addParameter(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(self._seed_parameter())
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Endmember spectra (CSV)", "CSV files (*.csv)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        arguments = ["endmembers", _raster_path(self, parameters, "INPUT", context), "-o", output, "--overwrite",
                     "--seed", self.parameterAsInt(parameters, "SEED", context)]
        if parameters.get("ENDMEMBER_COUNT") not in (None, ""):
            arguments += ["-p", self.parameterAsInt(parameters, "ENDMEMBER_COUNT", context)]
        arguments += _roi_arguments(self, parameters, context, feedback)
        command.run(arguments, feedback)
        return {"OUTPUT": output}


class EstimateAlgorithm(_Base):
    def name(self):
        return "estimate"

    def displayName(self):  # noqa: N802
        return "Estimate number of endmembers (HySime)"

    def shortHelpString(self):  # noqa: N802
        return "Estimates the number of endmembers (signal subspace dimension) with HySime on a stratified sample of valid pixels."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral raster"))
        self.addParameter(QgsProcessingParameterFeatureSource("ROI", "Region of interest (polygons)", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(self._seed_parameter())
        self.addOutput(QgsProcessingOutputNumber("ENDMEMBER_COUNT", "Number of endmembers"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        arguments = ["estimate", _raster_path(self, parameters, "INPUT", context), "--json", "--seed", self.parameterAsInt(parameters, "SEED", context)]
        arguments += _roi_arguments(self, parameters, context, feedback)
        result = json.loads("\n".join(command.run(arguments, feedback)))
        feedback.pushInfo(f"HySime: {result['hysime']} endmembers")
        return {"ENDMEMBER_COUNT": result["hysime"]}


class EvaluateAlgorithm(_Base):
    def name(self):
        return "evaluate"

    def displayName(self):  # noqa: N802
        return "Evaluate against ground truth"

    def shortHelpString(self):  # noqa: N802
        return ("Scores an abundance raster written by 'Unmix' against ground truth: spectral angle (SAD) of the endmembers and "
                "abundance RMSE, with endmembers matched by the Hungarian method.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Abundance raster (from Unmix)"))
        self.addParameter(QgsProcessingParameterRasterLayer("TRUTH", "Ground-truth abundances", optional=True))
        self.addParameter(QgsProcessingParameterFile("TRUTH_ENDMEMBERS", "Ground-truth endmember spectra", optional=True, fileFilter=SPECTRA_FILTER))
        self.addParameter(QgsProcessingParameterFile("ESTIMATED_ENDMEMBERS", "Estimated endmember spectra (default: the run's .endmembers.csv)",
                                                     optional=True, fileFilter=SPECTRA_FILTER))
        self.addParameter(QgsProcessingParameterEnum("MATCH", "Match endmembers on", options=["spectral angle", "abundance RMSE"], defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", "Scores (JSON)", "JSON files (*.json)", optional=True, createByDefault=False))
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
