import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import EndmembersAlgorithm, EstimateAlgorithm, EvaluateAlgorithm, UnmixAlgorithm


class HyperUnmixProvider(QgsProcessingProvider):
    """Processing provider 'hyperunmix': unmix, endmembers, estimate, evaluate."""

    def id(self):
        return "hyperunmix"

    def name(self):
        return "HyperUnmix.Geo"

    def longName(self):  # noqa: N802
        return "HyperUnmix.Geo hyperspectral unmixing"

    def icon(self):
        path = os.path.join(os.path.dirname(__file__), "icon.svg")
        return QIcon(path) if os.path.exists(path) else super().icon()

    def load(self):
        # The command's location is a provider setting, shown under Processing > Options > Providers.
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
            ProcessingConfig.settingIcons[self.name()] = self.icon()
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
            ProcessingConfig.removeSetting("HYPERUNMIX_COMMAND")
        except (ImportError, KeyError):
            pass

    def loadAlgorithms(self):  # noqa: N802
        for algorithm in (UnmixAlgorithm(), EndmembersAlgorithm(), EstimateAlgorithm(), EvaluateAlgorithm()):
            self.addAlgorithm(algorithm)
