"""Finding and running the hyperunmix command, with progress, cancellation and readable errors."""
import os
import re
import shlex
import shutil
import signal
import subprocess

from qgis.core import QgsProcessingException, QgsSettings

SETTING = "Processing/Configuration/HYPERUNMIX_COMMAND"
ENVIRONMENT = "HYPERUNMIX_COMMAND"
PLUGIN_DIR = os.path.dirname(__file__)


def configured_command():
    """The command as a list: the provider setting, else $HYPERUNMIX_COMMAND, else PATH, else next to the plugin."""
    text = (QgsSettings().value(SETTING, "") or "").strip() or os.environ.get(ENVIRONMENT, "").strip()
    if text:
        return shlex.split(text)
    found = shutil.which("hyperunmix")
    if found:
        return [found]
    for candidate in ("hyperunmix", "bin/hyperunmix"):
        path = os.path.join(PLUGIN_DIR, candidate)
        if os.access(path, os.X_OK):
            return [path]
    for candidate in ("hyperunmix.dll", "bin/hyperunmix.dll"):
        path = os.path.join(PLUGIN_DIR, candidate)
        if os.path.exists(path) and shutil.which("dotnet"):
            return [shutil.which("dotnet"), path]
    return None


def describe_command():
    """The command the algorithms will run, as one line for the help panel (or why none was found)."""
    found = configured_command()
    if found is None:
        return "not found (see Processing > Options > Providers > HyperUnmix.Geo)"
    return " ".join(shlex.quote(part) for part in found)


def missing_command_message():
    return ("The hyperunmix command was not found. Install HyperUnmix.Geo and either put 'hyperunmix' on the PATH, "
            "or set its full command in Processing > Options > Providers > HyperUnmix.Geo > 'hyperunmix command' "
            "(for example: dotnet /opt/hyperunmix/hyperunmix.dll), or set the environment variable "
            f"{ENVIRONMENT}.")


def with_dialog_names(message, flag_labels):
    """The command's message with each option it names followed by the dialog's name for it, e.g.
    'pass --resample' -> 'pass --resample (in the dialog: "Resample endmember spectra")'."""
    for flag, label in (flag_labels or {}).items():
        pattern = re.compile(re.escape(flag) + r"(?![\w-])")
        if pattern.search(message):
            message = pattern.sub(lambda m: f'{m.group(0)} (in the dialog: "{label}")', message, count=1)
    return message


def run(arguments, feedback, progress_range=(0.0, 100.0), flag_labels=None):
    """Runs hyperunmix with the arguments; returns its stdout lines (progress lines excluded).

    Progress lines 'PROGRESS <percent> <stage>' drive the feedback's progress bar; cancelling sends SIGTERM, on
    which the command removes its partial outputs. A non-zero exit raises QgsProcessingException with the
    command's own one-line message.
    """
    command = configured_command()
    if command is None:
        raise QgsProcessingException(missing_command_message())
    full = command + [str(a) for a in arguments]
    if feedback is not None:
        feedback.pushCommandInfo(" ".join(shlex.quote(part) for part in full))
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    try:
        process = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env)
    except OSError as error:
        raise QgsProcessingException(f"Could not start {full[0]}: {error}. {missing_command_message()}")
    low, high = progress_range
    lines = []
    stage = None
    for line in process.stdout:
        line = line.rstrip("\n")
        if feedback is not None and feedback.isCanceled():
            process.send_signal(signal.SIGTERM)
            break
        if line.startswith("PROGRESS "):
            parts = line.split(" ", 2)
            try:
                percent = float(parts[1])
            except (IndexError, ValueError):
                continue
            if feedback is not None:
                feedback.setProgress(low + (high - low) * percent / 100.0)
                # The dialog writes every progress text into its log: say each stage once, when it starts.
                if len(parts) > 2 and parts[2] != stage:
                    stage = parts[2]
                    feedback.setProgressText(stage)
            continue
        lines.append(line)
        if feedback is not None:
            feedback.pushConsoleInfo(line)
    stderr = process.stderr.read()
    code = process.wait()
    process.stdout.close()
    process.stderr.close()
    if feedback is not None and feedback.isCanceled():
        raise QgsProcessingException("Cancelled: hyperunmix stopped and left no output.")
    if code != 0:
        message = next((l for l in stderr.splitlines() if l.startswith("hyperunmix: ")), stderr.strip() or f"exit code {code}")
        message = with_dialog_names(message.replace("hyperunmix: ", "", 1), flag_labels)
        raise QgsProcessingException(message + f" (hyperunmix exit code {code})")
    return lines
