#!/usr/bin/env bash
# Every test of the project (C# tests against real GDAL and OpenBLAS; Orfeo ToolBox for the peer checks).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-peers
dotnet test HyperUnmix.Geo.sln -c Release --no-build -nologo -v quiet -- RunConfiguration.TestSessionTimeout=3000000
