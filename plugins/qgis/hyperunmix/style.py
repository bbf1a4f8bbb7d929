"""How an abundance raster looks when the plugin loads it.

Every band stays reachable: the current style is an RGB composite of endmembers 1-3 over [0, 1] (one or two
endmembers: a single-band ramp / red-green), and the layer's style manager holds one named style per endmember
(a 0-1 colour ramp) and one for residual_rmse (a min-max ramp). A user switches with right-click > Styles, and the
run's log says so when an endmember is not in the composite. Chosen over one layer per band because it keeps one
layer per run (batch runs and models stay tidy) and over a renderer that mixes more than three bands, which QGIS
does not have.
"""
import json

from osgeo import gdal
from qgis.core import (
    QgsColorRampShader,
    QgsContrastEnhancement,
    QgsGradientColorRamp,
    QgsGradientStop,
    QgsMapLayerStyle,
    QgsMultiBandColorRenderer,
    QgsRasterBandStats,
    QgsRectangle,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

RGB_STYLE_PREFIX = "RGB: "


def _ramp(colours):
    ramp = QgsGradientColorRamp(QColor(colours[0]), QColor(colours[-1]))
    n = len(colours) - 1
    ramp.setStops([QgsGradientStop(i / n, QColor(c)) for i, c in enumerate(colours[1:-1], start=1)])
    return ramp


ABUNDANCE_RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]  # viridis
RESIDUAL_RAMP = ["#fff5eb", "#fdae6b", "#e6550d", "#7f2704"]


def pseudocolor(layer, band, minimum, maximum, colours):
    shader = QgsColorRampShader(minimum, maximum)
    shader.setColorRampType(QgsColorRampShader.Interpolated)
    shader.setSourceColorRamp(_ramp(colours))
    shader.classifyColorRamp(len(colours), band, QgsRectangle(), layer.dataProvider())
    raster_shader = QgsRasterShader(minimum, maximum)
    raster_shader.setRasterShaderFunction(shader)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, raster_shader)
    renderer.setClassificationMin(minimum)
    renderer.setClassificationMax(maximum)
    return renderer


def composite(layer, bands):
    """Red, green, blue = bands (1 to 3 of them), each stretched over [0, 1]."""
    bands = list(bands) + [-1] * (3 - len(bands))
    renderer = QgsMultiBandColorRenderer(layer.dataProvider(), *bands)
    for band, setter in zip(bands, (renderer.setRedContrastEnhancement, renderer.setGreenContrastEnhancement, renderer.setBlueContrastEnhancement)):
        if band > 0:
            enhancement = QgsContrastEnhancement(layer.dataProvider().dataType(band))
            enhancement.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
            enhancement.setMinimumValue(0.0)
            enhancement.setMaximumValue(1.0)
            setter(enhancement)
    return renderer


def band_names(layer):
    provider = layer.dataProvider()
    return [provider.generateBandName(b).split(": ", 1)[-1] for b in range(1, layer.bandCount() + 1)]


def _register(layer, styles, default_name, default_renderer):
    """Saves each (name, renderer) as a named style of the layer, then makes default_name (default_renderer) current."""
    manager = layer.styleManager()
    for name, renderer in styles:
        layer.setRenderer(renderer)  # the layer owns it from here (and deletes it when the next one comes)
        style = QgsMapLayerStyle()
        style.readFromLayer(layer)
        if name in manager.styles():
            manager.removeStyle(name)
        manager.addStyle(name, style)
    layer.setRenderer(default_renderer)
    current = manager.currentStyle()
    if current not in (n for n, _ in styles) and current != default_name:
        manager.renameStyle(current, default_name)
    elif default_name not in manager.styles():
        style = QgsMapLayerStyle()
        style.readFromLayer(layer)
        manager.addStyle(default_name, style)
    manager.setCurrentStyle(default_name)


def apply(layer):
    """Styles an abundance raster (P endmember bands + residual_rmse); returns the endmembers left out of the composite."""
    count = layer.bandCount()
    endmembers = max(count - 1, 1)
    names = band_names(layer)
    styles = []
    for band in range(1, endmembers + 1):
        styles.append((names[band - 1], pseudocolor(layer, band, 0.0, 1.0, ABUNDANCE_RAMP)))
    if count > 1:
        stats = layer.dataProvider().bandStatistics(count, QgsRasterBandStats.Min | QgsRasterBandStats.Max)
        high = stats.maximumValue if stats.maximumValue > stats.minimumValue else stats.minimumValue + 1.0
        styles.append((names[count - 1], pseudocolor(layer, count, stats.minimumValue, high, RESIDUAL_RAMP)))
    shown = list(range(1, min(endmembers, 3) + 1))
    if endmembers == 1:
        default_name, renderer = "Abundance: " + names[0], pseudocolor(layer, 1, 0.0, 1.0, ABUNDANCE_RAMP)
    else:
        default_name = RGB_STYLE_PREFIX + ", ".join(names[b - 1] for b in shown)
        renderer = composite(layer, shown)
    _register(layer, styles, default_name, renderer)
    layer.setCustomProperty("hyperunmix/endmembers", ",".join(names[:endmembers]))
    return names[3:endmembers] if endmembers > 3 else []


def _min_max(layer, band):
    stats = layer.dataProvider().bandStatistics(band, QgsRasterBandStats.Min | QgsRasterBandStats.Max)
    high = stats.maximumValue if stats.maximumValue > stats.minimumValue else stats.minimumValue + 1.0
    return stats.minimumValue, high


def class_colours(path):
    """The class colours a MESMA run wrote (HYPERUNMIX_CLASS_COLOURS: {"class": "#rrggbb"}), in class order; {} if none."""
    dataset = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
    text = dataset.GetMetadataItem("HYPERUNMIX_CLASS_COLOURS") if dataset is not None else None
    dataset = None
    return json.loads(text) if text else {}


def apply_classes(layer, colours):
    """Styles a class-fraction raster (MESMA): one named style per band, each class in its own colour.

    A class fraction (and its shade-normalised twin) runs from white at 0 to the class's colour at 1; shade from
    white to black over 0-1; rmse, model, the uncertainty bands over their min-max. The current style is the RGB
    composite of classes 1-3, as OUT.qml has it. Returns the style names, in band order.
    """
    names = band_names(layer)
    classes = [n for n in names if n in colours]
    styles = []
    for band, name in enumerate(names, start=1):
        base = name[:-len("_normalised")] if name.endswith("_normalised") else name
        if base in colours:
            renderer = pseudocolor(layer, band, 0.0, 1.0, ["#ffffff", colours[base]])
        elif name == "shade":
            renderer = pseudocolor(layer, band, 0.0, 1.0, ["#ffffff", "#000000"])
        else:
            low, high = _min_max(layer, band)
            renderer = pseudocolor(layer, band, low, high, ABUNDANCE_RAMP if name == "model" else RESIDUAL_RAMP)
        styles.append((name, renderer))
    shown = list(range(1, min(len(classes), 3) + 1))
    _register(layer, styles, RGB_STYLE_PREFIX + ", ".join(names[b - 1] for b in shown), composite(layer, shown))
    layer.setCustomProperty("hyperunmix/class_colours", json.dumps(colours))
    return [n for n, _ in styles]


def set_undefined_colour_interpretation(path):
    """Abundances are not grey levels: every band's colour interpretation becomes Undefined where the format keeps it.

    GDAL 3.6's GeoTIFF driver always reports band 1 of a MINISBLACK file as Gray (it stores no Undefined for it);
    ENVI and later GDAL versions keep it. A COG is left as written (opening it for update would break its layout).
    """
    dataset = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_READONLY)
    if dataset is None:
        return
    layout = (dataset.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE") or "").upper()
    dataset = None
    if layout == "COG":
        return
    dataset = gdal.OpenEx(path, gdal.OF_RASTER | gdal.OF_UPDATE)
    if dataset is None:
        return
    for band in range(1, dataset.RasterCount + 1):
        if dataset.GetRasterBand(band).GetColorInterpretation() != gdal.GCI_Undefined:
            dataset.GetRasterBand(band).SetColorInterpretation(gdal.GCI_Undefined)
    dataset = None
