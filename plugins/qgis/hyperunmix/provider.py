import os

from qgis.core import QgsProcessingProvider, QgsSettings
from qgis.PyQt.QtGui import QIcon

from . import command, results
from .algorithms import EndmembersAlgorithm, EstimateAlgorithm, EvaluateAlgorithm, LibraryFromPolygonsAlgorithm, MesmaAlgorithm, UnmixAlgorithm

# Where ProcessingConfig stores the provider's "Activate" checkbox; read directly so qgis_process honours it too.
ACTIVATE = "ACTIVATE_HYPERUNMIX"
ACTIVATE_KEY = "Processing/Configuration/" + ACTIVATE


class HyperUnmixProvider(QgsProcessingProvider):
    """Processing provider 'hyperunmix': unmix, endmembers, estimate, evaluate, mesma, library_from_polygons."""

    def id(self):
        return "hyperunmix"

    def name(self):
        return "HyperUnmix.Geo"

    def longName(self):  # noqa: N802
        return "HyperUnmix.Geo hyperspectral unmixing"

    def versionInfo(self):  # noqa: N802
        # Shown next to the provider in the toolbox tooltips and Options: the command every algorithm runs.
        return "hyperunmix command: " + command.describe_command()

    def isActive(self):  # noqa: N802
        return QgsSettings().value(ACTIVATE_KEY, True, type=bool)

    def setActive(self, active):  # noqa: N802
        QgsSettings().setValue(ACTIVATE_KEY, bool(active))
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
            if ACTIVATE in ProcessingConfig.settings:
                ProcessingConfig.settings[ACTIVATE].value = bool(active)
        except ImportError:
            pass

    def icon(self):
        path = os.path.join(os.path.dirname(__file__), "icon.svg")
        return QIcon(path) if os.path.exists(path) else super().icon()

    def load(self):
        # QGIS 3.22's Batch dialog calls ProcessingResults.addResult without a timestamp: give it one (results.py).
        results.patch()
        # The command's location is a provider setting, shown under Processing > Options > Providers.
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(self.name(), ACTIVATE, "Activate", True))
            # Stored by ProcessingConfig under Processing/Configuration/HYPERUNMIX_COMMAND, where command.py reads it.
            ProcessingConfig.addSetting(Setting(self.name(), "HYPERUNMIX_COMMAND", "hyperunmix command (e.g. dotnet /opt/hyperunmix/hyperunmix.dll)",
                                                "", valuetype=Setting.STRING))
            ProcessingConfig.readSettings()
        except ImportError:
            pass  # the processing plugin's settings are optional: qgis_process reads QgsSettings directly
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
            for name in ("HYPERUNMIX_COMMAND", ACTIVATE):
                ProcessingConfig.settings.pop(name, None)
        except ImportError:
            pass

    def loadAlgorithms(self):  # noqa: N802
        for algorithm in (UnmixAlgorithm(), EndmembersAlgorithm(), EstimateAlgorithm(), EvaluateAlgorithm(), MesmaAlgorithm(), LibraryFromPolygonsAlgorithm()):
            self.addAlgorithm(algorithm)
