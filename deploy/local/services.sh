#!/usr/bin/env bash
# Installs (from Debian's packages) and starts the local Redis and PostgreSQL the platform and
# its tests use, bound to loopback only. Idempotent: running services are left alone.
# Data lives in $STATE_DIR (default /var/lib/code-platform), shared by every checkout.
set -euo pipefail

STATE_DIR=${STATE_DIR:-/var/lib/code-platform}
REDIS_PORT=${REDIS_PORT:-6379}
PG_PORT=${PG_PORT:-5432}
PG_USER=platform
PG_DB=platform

log() { printf '[services] %s\n' "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/packages.sh"

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    printf '%s/%s' "$dir" "$1"
}

start_redis() {
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return; fi
    mkdir -p "$STATE_DIR/redis"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    # Append-only persistence and no eviction: the streams are the queue, never evicted.
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
        --dir "$STATE_DIR/redis" --appendonly yes --maxmemory-policy noeviction \
        --logfile "$STATE_DIR/redis/redis.log" --save ''
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
    log "Redis did not start; see $STATE_DIR/redis/redis.log"; exit 1
}

start_postgres() {
    local data="$STATE_DIR/postgres"
    if ! [ -f "$data/PG_VERSION" ]; then
        log "creating PostgreSQL cluster in $data"
        mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
        runuser -u postgres -- "$(pg_bin initdb)" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! runuser -u postgres -- "$(pg_bin pg_isready)" -h 127.0.0.1 -p "$PG_PORT" -q; then
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        runuser -u postgres -- "$(pg_bin pg_ctl)" -D "$data" -l "$data/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c max_connections=400 -c fsync=off -c unix_socket_directories=/tmp" start >/dev/null
    fi
    local psql=(runuser -u postgres -- psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA)
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'")" != 1 ]; then
        "${psql[@]}" -c "CREATE ROLE $PG_USER LOGIN CREATEDB"
    fi
    if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$PG_DB'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
    fi
}

need_packages redis-server postgresql
start_redis
start_postgres
echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
echo "export DATABASE_URL=postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB"
