#!/usr/bin/env bash
# Brings the whole platform up on this machine: Redis and PostgreSQL (from Debian's packages),
# the migrations, the sandbox image, CodeMirror for the web UI, then the api, a grader, a
# relay and a hub on loopback behind one nginx edge (the stack's configuration, see
# deploy/local/edge.sh) that serves the page, /api, /ws and /hub on one origin, and prints it.
# Idempotent: running it again rebuilds what changed and restarts the services.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE_DIR=${STATE_DIR:-/var/lib/code-platform}
PORT=${PORT:-8080}
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/logs"
SECRETS_DIR="$STATE_DIR/secrets"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$SECRETS_DIR"

log() { printf '[up] %s\n' "$*" >&2; }

eval "$(bash deploy/local/services.sh)"
bash deploy/web/vendor.sh
SANDBOX_IMAGE=$(bash deploy/sandbox/build.sh | tail -n 1)
log "sandbox image $SANDBOX_IMAGE"

log "building the services (release)"
cargo build --release --locked -p db -p api -p grader -p relay -p hub
target/release/migrate flyway/sql

# Credentials live in files, as Docker secrets do in the stack; the JWT key is made once.
umask 077
[ -s "$SECRETS_DIR/jwt_secret" ] || head -c 48 /dev/urandom | base64 -w0 > "$SECRETS_DIR/jwt_secret"
printf '%s' "$DATABASE_URL" > "$SECRETS_DIR/database_url"
printf '%s' "$REDIS_URL" > "$SECRETS_DIR/redis_url"
umask 022

stop() {
    local pidfile="$RUN_DIR/$1.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill -TERM "$(cat "$pidfile")"
        for _ in $(seq 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

start() {
    local name=$1; shift
    stop "$name"
    env SECRETS_DIR="$SECRETS_DIR" "$@" nohup "target/release/$name" >>"$LOG_DIR/$name.log" 2>&1 &
    echo $! > "$RUN_DIR/$name.pid"
}

# Only the edge listens beyond loopback; the page reaches the relay and the hub through it.
API_PORT=$((PORT + 4)) RELAY_PORT=$((PORT + 2)) HUB_PORT=$((PORT + 3))
start api API__LISTEN="127.0.0.1:$API_PORT"
start grader GRADER__SANDBOX_TAG="${SANDBOX_IMAGE##*:}" GRADER__LISTEN="127.0.0.1:$((PORT + 1))"
start relay RELAY__LISTEN="127.0.0.1:$RELAY_PORT"
start hub HUB__LISTEN="127.0.0.1:$HUB_PORT"
bash deploy/local/edge.sh "$PORT" "$API_PORT" "$RELAY_PORT" "$HUB_PORT" "$((PORT + 5))" "$RUN_DIR" "$LOG_DIR"

ready() { curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; }
for _ in $(seq 100); do
    # The services' own readiness, then the edge's way to each.
    if ready "$API_PORT" && ready "$RELAY_PORT" && ready "$HUB_PORT" \
        && curl -fsS "http://127.0.0.1:$PORT/api/config" >/dev/null 2>&1 \
        && curl -fsS "http://127.0.0.1:$PORT/hub/openapi.json" >/dev/null 2>&1; then
        log "logs: $LOG_DIR; stop with: kill \$(cat $RUN_DIR/*.pid)"
        echo "The platform is up: open http://localhost:$PORT/ (the page, /api, /ws and /hub on this one origin;" \
            "api docs: http://localhost:$PORT/api/docs)"
        exit 0
    fi
    sleep 0.2
done
log "the platform did not become ready through the edge on port $PORT; see $LOG_DIR"
tail -n 20 "$LOG_DIR/api.log" "$LOG_DIR/hub.log" "$LOG_DIR/edge.log" >&2 || true
exit 1
