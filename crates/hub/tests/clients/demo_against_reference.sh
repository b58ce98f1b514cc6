#!/usr/bin/env bash
# Proves yjs_client.js and pycrdt_client.py against Debian's reference y-websocket server:
#   1. two Node clients and one Python client share a room; the Python one joins late and must
#      see what was typed before it came; all three type at once and must converge;
#   2. awareness: every client sees the three names;
#   3. failover: the server is killed, a client edits while offline, a second (empty) server is
#      started on the next URL of every client's list; all of them move there, re-sync, and
#      converge again, offline edit included.
# Exits non-zero on the first check that fails; DEMO_KEEP=1 keeps the clients' logs.
# Runs as root (deploy/hub/clients.sh installs what is missing).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../../.." && pwd)

eval "$(bash "$ROOT/deploy/hub/clients.sh")"
export NODE_PATH

WORK=$(mktemp -d)
declare -A IN_FD PID SEEN
SERVER_PID=

cleanup() {
    for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null || true; done
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    if [ "${DEMO_KEEP:-0}" = 1 ]; then say "logs in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

say() { printf '[demo] %s\n' "$*"; }
fail() {
    say "FAIL: $*"
    for f in "$WORK"/*.out "$WORK"/*.err "$WORK"/server-*.log; do
        [ -s "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
    done
    exit 1
}

free_port() {
    "$YJS_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() { # PORT
    HOST=127.0.0.1 PORT=$1 "$NODE" "$Y_WEBSOCKET_SERVER" >"$WORK/server-$1.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 50); do grep -q running "$WORK/server-$1.log" && return; sleep 0.1; done
    fail "the reference server did not start on port $1"
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# start NAME node|python ARGS...: the client reads commands from a FIFO held open here.
start_client() {
    local name=$1 kind=$2
    shift 2
    mkfifo "$WORK/$name.in"
    : >"$WORK/$name.out" # exists before await reads it; the child's redirections wait on the FIFO
    if [ "$kind" = node ]; then
        "$NODE" "$YJS_NODE_CLIENT" --name "$name" "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    else
        "$YJS_PYTHON" "$YJS_PY_CLIENT" --name "$name" "$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    fi
    PID[$name]=$!
    exec {fd}>"$WORK/$name.in"
    IN_FD[$name]=$fd
    SEEN[$name]=0
}

send() { printf '%s\n' "$2" >&"${IN_FD[$1]}"; }

# await NAME REGEX [SECONDS]: sets LINE to the next stdout line of NAME (after the last one
# awaited) that matches. Not to be called in a subshell: it keeps its place in SEEN.
await() {
    local name=$1 regex=$2 deadline=$((SECONDS + ${3:-15})) line n
    while [ $SECONDS -le $deadline ]; do
        n=0
        while IFS= read -r line; do
            n=$((n + 1))
            [ $n -le "${SEEN[$name]}" ] && continue
            if [[ $line =~ $regex ]]; then
                SEEN[$name]=$n
                LINE=$line
                return
            fi
        done <"$WORK/$name.out"
        sleep 0.05
    done
    fail "$name: no line matching $regex"
}

# wait_text NAME COMMAND: sends a wait_text/wait_length command and fails on its timeout.
wait_text() {
    send "$1" "$2"
    await "$1" '"event":"(text|timeout)"'
    [[ $LINE == *'"event":"text"'* ]] || fail "$1: $2 gave $LINE"
}

text_of() { # NAME: sets TEXT to the client's text, JSON-encoded
    send "$1" '{"cmd":"text"}'
    await "$1" '"event":"text"'
    TEXT=$("$YJS_PYTHON" -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["text"]))' "$LINE")
}

# converged TOTAL NAME...: every client reaches TOTAL characters and all texts are equal.
converged() {
    local total=$1 first="" name
    shift
    for name in "$@"; do
        wait_text "$name" "{\"cmd\":\"wait_length\",\"at_least\":$total,\"timeout_ms\":10000}"
    done
    for name in "$@"; do
        text_of "$name"
        say "$name: $TEXT"
        if [ -z "$first" ]; then first=$TEXT; elif [ "$TEXT" != "$first" ]; then fail "$name differs"; fi
    done
    [ "$("$YJS_PYTHON" -c 'import json, sys; print(len(json.loads(sys.argv[1])))' "$first")" -eq "$total" ] ||
        fail "expected $total characters"
    CONVERGED_TEXT=$first
}

PORT_A=$(free_port)
PORT_B=$(free_port)
while [ "$PORT_B" = "$PORT_A" ]; do PORT_B=$(free_port); done
URLS=(--url "ws://127.0.0.1:$PORT_A" --url "ws://127.0.0.1:$PORT_B")
ROOM=demo-room

say "reference server A on 127.0.0.1:$PORT_A"
start_server "$PORT_A"

start_client ana node "${URLS[@]}" --room "$ROOM" --token demo.jwt.token
start_client ben node "${URLS[@]}" --room "$ROOM"
for name in ana ben; do await "$name" '"event":"synced"'; done
say "ana and ben synced"

send ana '{"cmd":"type","text":"early ","interval_ms":5}'
await ana '"event":"typed"'
wait_text ben '{"cmd":"wait_text","contains":"early ","timeout_ms":5000}'

start_client cy python "${URLS[@]}" --room "$ROOM"
await cy '"event":"synced"'
wait_text cy '{"cmd":"wait_text","equals":"early ","timeout_ms":5000}'
say "cy (python) joined late and sees \"early \""

say "all three type at once"
send ana '{"cmd":"type","text":"xxxxxxxxxxxxxxxxxxxx","interval_ms":15}'
send ben '{"cmd":"type","text":"qqqqqqqqqqqqqqqqqqqq","interval_ms":15}'
send cy '{"cmd":"type","text":"zzzzzzzzzzzzzzzzzzzz","interval_ms":15}'
for name in ana ben cy; do await "$name" '"event":"typed","count":20'; done
converged 66 ana ben cy
for c in x q z; do
    [ "$(tr -cd "$c" <<<"$CONVERGED_TEXT" | wc -c)" -eq 20 ] || fail "lost some '$c'"
done

for name in ana ben cy; do
    send "$name" '{"cmd":"awareness"}'
    await "$name" '"event":"awareness"'
    [[ $LINE == *'["ana","ben","cy"]'* ]] || fail "$name awareness: $LINE"
done
say "awareness: every client sees ana, ben, cy"

say "killing server A; ana (node) and cy (python) edit while offline"
stop_server
for name in ana ben cy; do await "$name" '"status":"disconnected"'; done
send ana '{"cmd":"insert","index":0,"text":"OFFLINE "}'
send cy '{"cmd":"insert","index":1000,"text":"!"}'
start_server "$PORT_B"
say "reference server B on 127.0.0.1:$PORT_B (empty)"
for name in ana ben cy; do
    await "$name" "\"status\":\"connected\",\"url\":\"ws://127.0.0.1:$PORT_B/" 20
    await "$name" '"event":"synced"'
done
say "all three moved to B and re-synced"
converged 75 ana ben cy
[[ $CONVERGED_TEXT == '"OFFLINE early '*'!"' ]] || fail "an offline edit did not survive"

for name in ana ben cy; do send "$name" '{"cmd":"quit"}'; done
for name in ana ben cy; do
    wait "${PID[$name]}" || fail "$name exited non-zero"
    unset "PID[$name]"
done
say "late join, concurrent typing, awareness, failover: 4 passed, 0 failed"
