#!/usr/bin/env bash
# Runs the whole test suite against real services: installs and starts Redis and PostgreSQL,
# builds the sandbox image, fetches CodeMirror and headless Chromium from Debian's packages and
# the Yjs clients the hub is tested with (Debian's y-websocket under Node.js, pycrdt from PyPI),
# then checks formatting and lints and runs every crate's tests.
# This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash deploy/local/services.sh)"
bash deploy/web/vendor.sh
eval "$(bash deploy/web/browser.sh)"
export CHROMIUM CHROMEDRIVER
eval "$(bash deploy/hub/clients.sh)"
export NODE NODE_PATH YJS_NODE_CLIENT YJS_PYTHON YJS_PY_CLIENT Y_WEBSOCKET_SERVER
STATE_DIR=${STATE_DIR:-/var/lib/code-platform}
SANDBOX_IMAGE=$(bash deploy/sandbox/build.sh | tail -n 1)
export SANDBOX_IMAGE
echo "[test] sandbox image $SANDBOX_IMAGE" >&2

# Schemathesis (PyPI) fuzzes the api from its OpenAPI document.
VENV="$STATE_DIR/venv"
if ! [ -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'schemathesis==4.32.5'
fi
export SCHEMATHESIS="$VENV/bin/schemathesis"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
