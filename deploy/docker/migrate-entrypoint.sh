#!/bin/sh
# The stack's migration job with the workspace's own runner (crate db, bin migrate): reads the
# database URL from the Docker secret database_url and applies /app/flyway/sql, the same
# V<n>__*.sql files Flyway applies, recording them in flyway_schema_history as Flyway does (so
# either can migrate the database next). Exits 0 when done.
set -eu
secret=${DATABASE_URL_FILE:-/run/secrets/database_url}
if [ -z "${DATABASE_URL:-}" ]; then
    if [ ! -r "$secret" ]; then
        echo "migrate: no DATABASE_URL and no readable secret $secret" >&2
        exit 1
    fi
    DATABASE_URL=$(cat "$secret")
    export DATABASE_URL
fi
exec /usr/local/bin/migrate "${MIGRATIONS_DIR:-/app/flyway/sql}" "$@"
