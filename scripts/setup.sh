#!/usr/bin/env bash
# Installs what HyperUnmix.Geo needs on Debian/Ubuntu (only what is missing), then builds the solution.
# Usage: scripts/setup.sh [--with-peers] [--with-qgis] [--with-redis]
#   --with-peers  also the Orfeo ToolBox (otb-bin), the peer the benchmarks measure against
#   --with-qgis   also QGIS (qgis, python3-qgis), to test the Processing plugin
#   --with-redis  also redis-server, for the cluster mode's tests (a cluster's Redis may run on another machine)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gdal-bin libopenblas0)
for arg in "$@"; do
  case "$arg" in
    --with-peers) packages+=(otb-bin) ;;
    --with-qgis) packages+=(qgis python3-qgis qgis-providers python3-gdal) ;;
    --with-redis) packages+=(redis-server) ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }
dotnet build HyperUnmix.Geo.sln -c Release -v quiet -nologo -clp:ErrorsOnly
