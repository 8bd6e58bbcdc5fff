#!/usr/bin/env bash
# Debian packages the test suite uses, installed only when missing (needs root; otherwise says what to do).
#   chromium     - real-browser tests of the map (Playwright drives /usr/bin/chromium)
#   nodejs, npm  - the JavaScript vector-tile decoder test (tests/tiles/js)
#   poppler-utils- pdftotext/pdftoppm for the weekly-report PDF tests
#   fonts-dejavu - a font with Swedish characters for WeasyPrint and matplotlib
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
