#!/usr/bin/env bash
# Install the real consumers the test suite checks exports with (idempotent; quick when present):
#   pandoc (Markdown), LibreOffice Calc (workbooks), Chromium + the QTI player (QTI items).
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
echo "install-consumers: pandoc $(pandoc --version | head -1 | cut -d' ' -f2), $(soffice --version 2>/dev/null | cut -d' ' -f1-2), $(/usr/bin/chromium --version 2>/dev/null)"
