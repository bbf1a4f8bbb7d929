#!/usr/bin/env bash
# Packages the plugin as a zip that QGIS's "Install from ZIP" accepts: a single top-level folder 'hyperunmix'.
# Usage: plugins/qgis/build-zip.sh [output-dir]   (default: dist/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../dist}"
mkdir -p "$out"
version=$(sed -n 's/^version=//p' "$here/hyperunmix/metadata.txt")
zip="$(cd "$out" && pwd)/hyperunmix-qgis-$version.zip"
rm -f "$zip"
(cd "$here" && /usr/bin/python3 - "$zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk("hyperunmix"):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in sorted(files):
            if not f.endswith(".pyc"):
                z.write(os.path.join(root, f))
PY
)
echo "$zip"
