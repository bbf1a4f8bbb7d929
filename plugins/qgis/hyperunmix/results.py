"""Results Viewer entries that work in QGIS 3.22's Batch dialog and can be told apart.

QGIS 3.22's Batch dialog calls ``ProcessingResults.addResult(icon=..., name=..., result=...)`` without the
``timestamp`` its own signature requires, so every Batch run of an algorithm with an HTML output ended in a Python
error dialog and its reports never reached the Results Viewer (fixed in later QGIS). ``patch()`` gives the timestamp a
default where it has none. Every entry also gets the input's name and a counter, so that repeated runs (Batch rows,
reruns of one dialog) are not several identical "HTML report" lines.
"""
import inspect
import os
import threading
import time

_labels = {}
_lock = threading.Lock()
_count = [0]


def label(html_path, input_name):
    """Remembers which input an HTML report describes, for its Results Viewer entry; returns the entry's suffix."""
    with _lock:
        _count[0] += 1
        suffix = f"{input_name} #{_count[0]}"
        _labels[os.path.abspath(html_path)] = suffix
    return suffix


def patch():
    """Installs the timestamp default and the entry names once (idempotent; a no-op outside the Processing plugin)."""
    try:
        from processing.core.ProcessingResults import ProcessingResults
    except ImportError:
        return False
    if getattr(ProcessingResults.addResult, "_hyperunmix", False):
        return True
    original = ProcessingResults.addResult
    needs_default = inspect.signature(original).parameters.get("timestamp") is not None and \
        inspect.signature(original).parameters["timestamp"].default is inspect.Parameter.empty

    def addResult(self, icon, name, timestamp=None, result=None):  # noqa: N802
        if timestamp is None:
            timestamp = time.localtime()
        suffix = _labels.get(os.path.abspath(result)) if isinstance(result, str) else None
        if suffix and suffix not in name:
            name = f"{name}: {suffix}"
        return original(self, icon, name, timestamp, result)

    addResult._hyperunmix = True
    addResult._needed_default = needs_default
    ProcessingResults.addResult = addResult
    return True
