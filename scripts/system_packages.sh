#!/usr/bin/env bash
# Install Debian packages that Winnow uses (demo images, Chromium for browser tests) when apt exists.
# Without apt the demo builder falls back to images shipped by pip packages and says so.
set -uo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: apt-get not found; not installing ${missing[*]}" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -q >/dev/null || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "warning: could not install ${missing[*]}" >&2; exit 0; }
