#!/usr/bin/env bash
# The main job on the project's sample scene: unmix sample-rasters/scene.tif with the default method and
# score it against the scene's ground truth. Outputs go to out/sample/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p out/sample
hu=(dotnet src/HyperUnmix.Geo.Cli/bin/Release/net10.0/hyperunmix.dll)
"${hu[@]}" unmix sample-rasters/scene.tif -o out/sample/abundances.tif --overwrite \
  --truth sample-rasters/scene_abundances.tif --truth-endmembers sample-rasters/scene_endmembers.csv "$@"
echo
"${hu[@]}" evaluate out/sample/abundances.tif \
  --truth sample-rasters/scene_abundances.tif --truth-endmembers sample-rasters/scene_endmembers.csv
