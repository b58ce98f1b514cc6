#!/usr/bin/env bash
# The operator's account commands (platform-admin, crate api), against the platform's database
# with the api's own settings:
#
#   bash deploy/admin.sh make-teacher <username>   # the account (registered first) may create courses
#   bash deploy/admin.sh make-student <username>   # takes that back; its courses stay its own
#   bash deploy/admin.sh teachers                  # lists the accounts that may create courses
#
# Where it runs (ADMIN_TARGET, default auto: `stack` when the Swarm service ${STACK}_api exists):
#   stack  `docker exec` into a running api task on this node, which has the command, the
#          database_url secret and the network; run it on a node with an api task.
#   local  target/release/platform-admin (built if missing) with the secrets deploy/up.sh wrote
#          to $STATE_DIR/secrets (or API__DATABASE_URL).
# Exits with the command's status: 0 done, 1 refused (the reason on stderr), 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-platform}
STATE_DIR=${STATE_DIR:-/var/lib/code-platform}
target=${ADMIN_TARGET:-auto}
if [ "$target" = auto ]; then
    if command -v docker >/dev/null && docker service inspect "${STACK}_api" >/dev/null 2>&1; then
        target=stack
    else
        target=local
    fi
fi

case "$target" in
stack)
    task=$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_api" | head -n 1)
    if [ -z "$task" ]; then
        echo "admin: no running ${STACK}_api task on this node; run this on a node that has one" \
            "(docker service ps ${STACK}_api)" >&2
        exit 1
    fi
    exec docker exec "$task" platform-admin "$@"
    ;;
local)
    binary=target/release/platform-admin
    if [ ! -x "$binary" ]; then
        cargo build --release --locked -p api --bin platform-admin >&2
    fi
    SECRETS_DIR=${SECRETS_DIR:-$STATE_DIR/secrets} exec "$binary" "$@"
    ;;
*)
    echo "admin: ADMIN_TARGET is stack, local or auto, not '$target'" >&2
    exit 2
    ;;
esac
