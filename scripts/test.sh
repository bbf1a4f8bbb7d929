#!/usr/bin/env bash
# Every test of the project: the C# tests against real GDAL and OpenBLAS, then the QGIS plugin in a real
# headless QGIS (installed when missing, with the Orfeo ToolBox the benchmarks compare against).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-peers --with-qgis --with-redis
log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test HyperUnmix.Geo.sln -c Release --no-build -nologo -v quiet --filter "Category!=Cluster" | tee "$log"
# The cluster tests start Redis and worker processes and kill them; alone, so that the other test runs' load cannot
# delay the workers' membership probes.
echo "Cluster tests (Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p'), real worker processes on loopback):"
dotnet test tests/HyperUnmix.Geo.Cluster.Tests -c Release --no-build -nologo -v quiet --filter "Category=Cluster" --logger "console;verbosity=normal" | tee -a "$log"
# Determinism must not depend on the CPU's OpenBLAS kernels: the determinism tests again under every kernel this CPU
# can run (the command-line test KernelDeterminismTests, above, also compares the kernels' outputs byte for byte).
flags="$(grep -m1 "^flags" /proc/cpuinfo || true) "
kernels=""
[[ $flags == *" pni "* ]] && kernels+=" Prescott"
[[ $flags == *" avx2 "* && $flags == *" fma "* ]] && kernels+=" Haswell Zen"
[[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512vl "* ]] && kernels+=" SkylakeX"
for k in $kernels; do
  echo "Determinism tests under OPENBLAS_CORETYPE=$k:"
  for p in Unmixing Pipeline; do
    OPENBLAS_CORETYPE=$k dotnet test "tests/HyperUnmix.Geo.$p.Tests" -c Release --no-build -nologo -v quiet --filter "Category=Determinism" | tee -a "$log"
  done
done
echo "QGIS plugin tests (QGIS $(qgis_process.bin --version 2>/dev/null | sed -n 's/^QGIS \([0-9.]*\).*/\1/p' | head -1)):"
QT_QPA_PLATFORM=offscreen /usr/bin/python3 -m unittest discover -s tests/qgis -v 2>&1 | tee -a "$log"
# One closing line for both runners (each has already failed the script if a test failed).
passed=$(( $(grep -o 'Passed: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}') + $(sed -n 's/^Ran \([0-9]*\) tests.*/\1/p' "$log" | head -1) ))
echo "$passed passed, 0 failed"
