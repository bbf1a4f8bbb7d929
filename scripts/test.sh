#!/usr/bin/env bash
# Every test of the project: the C# tests against real GDAL and OpenBLAS, then the QGIS plugin in a real
# headless QGIS (installed when missing, with the Orfeo ToolBox the benchmarks compare against).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-peers --with-qgis
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test HyperUnmix.Geo.sln -c Release --no-build -nologo -v quiet | tee "$log"
echo "QGIS plugin tests (QGIS $(qgis_process.bin --version 2>/dev/null | sed -n 's/^QGIS \([0-9.]*\).*/\1/p' | head -1)):"
QT_QPA_PLATFORM=offscreen /usr/bin/python3 -m unittest discover -s tests/qgis -v 2>&1 | tee -a "$log"
# One closing line for both runners (each has already failed the script if a test failed).
passed=$(( $(grep -o 'Passed: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}') + $(sed -n 's/^Ran \([0-9]*\) tests.*/\1/p' "$log" | head -1) ))
echo "$passed passed, 0 failed"
