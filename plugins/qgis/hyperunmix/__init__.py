"""HyperUnmix.Geo QGIS plugin: a Processing provider that runs the hyperunmix command."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import HyperUnmixPlugin
    return HyperUnmixPlugin(iface)
