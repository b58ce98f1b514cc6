#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages (`chromium`,
# `chromium-driver`) for the browser test (crates/api/tests/it/browser/), and prints the two
# paths as `CHROMIUM=…` and `CHROMEDRIVER=…` lines that `eval` can take.
# Idempotent: installs only what is missing.
set -euo pipefail

log() { printf '[browser] %s\n' "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/packages.sh"
need_packages chromium chromium-driver fonts-dejavu-core
chromium=$(command -v chromium)
driver=$(command -v chromedriver)
log "$("$chromium" --version 2>/dev/null || echo chromium), $("$driver" --version 2>/dev/null | cut -d' ' -f1-2)"
printf 'CHROMIUM=%s\nCHROMEDRIVER=%s\n' "$chromium" "$driver"
