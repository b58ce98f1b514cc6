#!/usr/bin/env bash
# Installs the third-party Yjs clients the hub's tests drive, and the reference server their
# scripts are proven against:
#   - y-websocket's WebsocketProvider (and its server) under Node.js, from Debian's packages
#     `node-yjs`, `node-y-websocket` and `node-ws`;
#   - pycrdt-websocket (PyPI, pinned) in the shared venv $STATE_DIR/venv.
# Prints `NAME=value` lines that `eval` can take (export them for child processes; NODE_PATH
# in particular, which Node builds other than Debian's need to find /usr/share/nodejs).
# Idempotent: installs only what is missing.
set -euo pipefail

STATE_DIR=${STATE_DIR:-/var/lib/code-platform}
VENV="$STATE_DIR/venv"
# pycrdt holds the Provider the client uses; websockets is the transport under it.
PY_PINS=(pycrdt-websocket==0.16.5 pycrdt==0.14.13 websockets==17.4)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLIENTS="$ROOT/crates/hub/tests/clients"

log() { printf '[hub-clients] %s\n' "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/packages.sh"

# True when every `name==version` pin is what the venv has.
pins_installed() {
    "$VENV/bin/python" - "${PY_PINS[@]}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(any(version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
EOF
}

# node-ws: y-websocket only suggests it, but its server and our client both need it.
need_packages nodejs node-yjs node-y-websocket node-ws python3-venv

if ! [ -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
if ! pins_installed; then
    log "installing ${PY_PINS[*]} into $VENV"
    "$VENV/bin/pip" install --quiet "${PY_PINS[@]}"
fi

node=$(command -v node)
node_path=/usr/share/nodejs
server=$(command -v y-websocket-server)
# Fail here, not in a test, if Node cannot see Debian's modules.
NODE_PATH=$node_path "$node" -e 'require("yjs"); require("ws"); require("y-websocket")'
"$VENV/bin/python" -c 'import pycrdt, pycrdt.websocket, websockets'
log "node $("$node" --version), yjs $(sed -n 's/^ *"version": "\(.*\)",/\1/p' $node_path/yjs/package.json)," \
    "y-websocket $(sed -n 's/^ *"version": "\(.*\)",/\1/p' $node_path/y-websocket/package.json), ${PY_PINS[*]}"
printf 'NODE=%s\nNODE_PATH=%s\nYJS_NODE_CLIENT=%s\nYJS_PYTHON=%s\nYJS_PY_CLIENT=%s\nY_WEBSOCKET_SERVER=%s\n' \
    "$node" "$node_path" "$CLIENTS/yjs_client.js" "$VENV/bin/python" "$CLIENTS/pycrdt_client.py" "$server"
