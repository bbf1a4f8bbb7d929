#!/usr/bin/env bash
# Installs what HyperUnmix.Geo needs on Debian/Ubuntu (only what is missing), then builds the solution.
# Every run also publishes the command and puts `hyperunmix` on PATH (~/.local/bin, or /usr/local/bin as root).
# Usage: scripts/setup.sh [--with-peers] [--with-qgis] [--with-redis] [--install-qgis-plugin]
#   --with-peers          also the Orfeo ToolBox (otb-bin), the peer the benchmarks measure against
#   --with-qgis           also QGIS (qgis, python3-qgis), to test the Processing plugin
#   --with-redis          also redis-server, for the cluster mode's tests (a cluster's Redis may run on another machine)
#   --install-qgis-plugin also copy the Processing plugin into the user's default QGIS profile (it then finds the
#                         command on PATH with no setting; enable it once under Plugins > Manage and Install Plugins)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gdal-bin libopenblas0)
install_plugin=false
for arg in "$@"; do
  case "$arg" in
    --with-peers) packages+=(otb-bin) ;;
    --with-qgis) packages+=(qgis python3-qgis qgis-providers python3-gdal) ;;
    --with-redis) packages+=(redis-server) ;;
    --install-qgis-plugin) install_plugin=true ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

source "$(dirname "$0")/apt-wait.sh"

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  wait_for_apt || exit 1
  # Lock::Timeout covers the window between the wait above and apt taking its locks.
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1800 update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1800 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2; exit 1; }
dotnet build HyperUnmix.Geo.sln -c Release -v quiet -nologo -clp:ErrorsOnly

# The command on PATH: the CLI published to a folder of its own (scripts/publish.sh: ReadyToRun where it can), and a
# `hyperunmix` launcher.
if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
app="$prefix/share/hyperunmix"
scripts/publish.sh "$app.new"
rm -rf "$app" && mv "$app.new" "$app"
mkdir -p "$prefix/bin"
printf '#!/bin/sh\nexec dotnet "%s/hyperunmix.dll" "$@"\n' "$app" > "$prefix/bin/hyperunmix.tmp"
chmod +x "$prefix/bin/hyperunmix.tmp" && mv "$prefix/bin/hyperunmix.tmp" "$prefix/bin/hyperunmix"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "Installed $prefix/bin/hyperunmix; add $prefix/bin to PATH (e.g. in ~/.profile) to run it as hyperunmix" ;;
esac

if $install_plugin; then
  plugins="$HOME/.local/share/QGIS/QGIS3/profiles/default/python/plugins"
  mkdir -p "$plugins"
  rm -rf "$plugins/hyperunmix" && cp -r plugins/qgis/hyperunmix "$plugins/hyperunmix"
  find "$plugins/hyperunmix" -name '__pycache__' -prune -exec rm -rf {} +
  echo "Installed the QGIS plugin into $plugins/hyperunmix (enable it under Plugins > Manage and Install Plugins)"
fi
