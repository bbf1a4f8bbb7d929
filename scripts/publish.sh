#!/usr/bin/env bash
# Publishes the command into FOLDER as scripts/setup.sh installs it: framework-dependent, precompiled (ReadyToRun)
# where the machine's runtime identifier is known (measured 2026-12-06: --version 0.10 -> 0.08 s, info 0.35 -> 0.28 s,
# a default run on sample-rasters 2.42 -> 2.19 s). `bench unmix` times what this publishes.
# Usage: scripts/publish.sh FOLDER
set -euo pipefail
out="${1:?usage: scripts/publish.sh FOLDER}"
cd "$(dirname "$0")/.."
case "$(uname -m)" in
  x86_64) r2r=(-r linux-x64 --self-contained false -p:PublishReadyToRun=true) ;;
  aarch64|arm64) r2r=(-r linux-arm64 --self-contained false -p:PublishReadyToRun=true) ;;
  *) r2r=() ;;
esac
dotnet publish src/HyperUnmix.Geo.Cli -c Release "${r2r[@]}" -o "$out" -v quiet -nologo -clp:ErrorsOnly >/dev/null
