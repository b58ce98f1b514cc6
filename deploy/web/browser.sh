#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages (`chromium`,
# `chromium-driver`) for the browser test (crates/api/tests/browser.rs), and prints the two
# paths as `CHROMIUM=…` and `CHROMEDRIVER=…` lines that `eval` can take.
# Idempotent: installs only what is missing.
set -euo pipefail

log() { printf '[browser] %s\n' "$*" >&2; }

missing=()
for pkg in chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" fonts-dejavu-core >/dev/null
fi
chromium=$(command -v chromium)
driver=$(command -v chromedriver)
log "$("$chromium" --version 2>/dev/null || echo chromium), $("$driver" --version 2>/dev/null | cut -d' ' -f1-2)"
printf 'CHROMIUM=%s\nCHROMEDRIVER=%s\n' "$chromium" "$driver"
