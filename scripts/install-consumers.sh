#!/usr/bin/env bash
# Install the real consumers the test suite checks exports with (idempotent; quick when present):
#   pandoc (Markdown), LibreOffice Calc (workbooks), Chromium + the QTI player (QTI items),
#   axe-core (accessibility engine for the HTML pages, npm, into the gitignored .consumers/).
# The official XSDs and the QTI player come from ../shared, which is never copied into the project.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${ITEMBANK_SHARED:-$here/../shared}"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

need=()
command -v pandoc >/dev/null 2>&1 || need+=(pandoc)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-consumers: apt-get install ${need[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

player="$shared/clients/qti-player"
if [ -x "$player/install.sh" ] || [ -f "$player/install.sh" ]; then
  bash "$player/install.sh" | tail -n 2
else
  echo "install-consumers: no QTI player at $player (tests fail under CI=true)" >&2
fi
# axe-core, pinned; the HTML browser tests inject axe.min.js into each page.
axe_version="4.14.1"
axe="$here/.consumers/node_modules/axe-core"
if ! grep -qs "\"version\": \"$axe_version\"" "$axe/package.json"; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-consumers: apt-get install npm"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends npm >/dev/null
  fi
  mkdir -p "$here/.consumers"
  npm install --prefix "$here/.consumers" --no-audit --no-fund --no-save --silent "axe-core@$axe_version"
fi
echo "install-consumers: axe-core $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$axe/package.json" | head -1)"
echo "install-consumers: pandoc $(pandoc --version | head -1 | cut -d' ' -f2), $(soffice --version 2>/dev/null | cut -d' ' -f1-2), $(/usr/bin/chromium --version 2>/dev/null)"
