#!/usr/bin/env bash
# Installs the Debian packages Lightbox needs, when they are missing, and says clearly what it could not.
#   scripts/system-deps.sh run    what serving needs (WeasyPrint's Pango, fonts, Node.js for the front end)
#   scripts/system-deps.sh test   also Chromium for the browser tests and poppler-utils for looking at PDFs
#   scripts/system-deps.sh bench  also wrk, the load generator bench/live_poll.py drives gunicorn with
set -euo pipefail

want=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
[ "${1:-run}" = "test" ] && want+=(chromium poppler-utils)
[ "${1:-run}" = "bench" ] && want+=(wrk)

commands_missing=()
command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || want+=(python3-venv)

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "ERROR: these Debian packages are missing and I am not root and have no sudo: ${missing[*]}" >&2
  echo "Install them with: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
  echo "ERROR: could not install: ${missing[*]}" >&2
  echo "Lightbox needs them (Pango and fonts for PDFs; Chromium for browser tests). Install them by hand:" >&2
  echo "  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
