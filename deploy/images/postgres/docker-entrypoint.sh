#!/bin/sh
# Initialises an empty $PGDATA the way the official image does (superuser POSTGRES_USER with
# the password from POSTGRES_PASSWORD_FILE, database POSTGRES_DB, password logins over TCP),
# then runs the command (postgres) in its place.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    user=${POSTGRES_USER:-postgres}
    db=${POSTGRES_DB:-$user}
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        password=$(cat "$POSTGRES_PASSWORD_FILE")
    else
        password=${POSTGRES_PASSWORD:-}
    fi
    if [ -z "$password" ]; then
        echo "postgres: set POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD); refusing to start without a password" >&2
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$password" > "$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >&2
    rm -f "$pwfile"
    printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        # A server on the Unix socket only, to create the database, then stopped again.
        pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >&2
        psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q \
            -c "CREATE DATABASE \"$db\" OWNER \"$user\"" >&2
        pg_ctl -D "$PGDATA" -m fast -w stop >&2
    fi
    echo "postgres: initialised $PGDATA (user $user, database $db)" >&2
fi

exec "$@"
