#!/usr/bin/env bash
# Deploys (or re-deploys) the platform as the Swarm stack `platform` (STACK) from
# docker-stack.yml:
#
#   deploy/stack/secrets.sh /root/platform.secrets    # once, and to rotate
#   deploy/stack/deploy.sh
#
# 1. `docker swarm init` when this node is in no swarm (ADVERTISE_ADDR, default 127.0.0.1:
#    a one-node swarm reachable only from this machine; give the node's address for more);
# 2. labels this node for the data services (Postgres, Redis) when no node has the label;
# 3. builds the sandbox image (deploy/sandbox/build.sh) and the stack's images
#    (deploy/stack/build.sh, which builds the base images from Debian's packages where they
#    cannot be pulled) unless TAG names images that exist already;
# 4. picks the newest version of each secret (or <NAME>_VERSION), the Docker socket's group,
#    the migration image (Flyway when its image was built, else the workspace's runner) and,
#    where the kernel has no IPVS, endpoint_mode dnsrr;
# 5. `docker stack deploy` and waits until every service has its replicas, the migration job of
#    this deployment's image has completed, and a guest signs in through the edge and lists
#    its hub projects (both touch the database): only then does it say the platform is up.
#
# Re-running it with changed secrets or images rolls the affected services (start-first where
# safe, rolled back on failure). Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."

STACK=${STACK:-platform}
EDGE_PORT=${EDGE_PORT:-8088}
WAIT_SECONDS=${WAIT_SECONDS:-300}
SECRET_NAMES=(jwt_secret database_url postgres_password redis_url redis_password)

log() { printf '[deploy] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- 1. the swarm ------------------------------------------------------------------------------
bash "$(dirname "$0")/swarm.sh"

# --- 2. where the data lives ----------------------------------------------------------------------
if ! docker node ls -q | xargs docker node inspect -f '{{index .Spec.Labels "code-platform.data"}}' | grep -q true; then
    log "labelling this node code-platform.data=true (Postgres and Redis volumes live here)"
    docker node update --label-add code-platform.data=true "$(docker info --format '{{.Swarm.NodeID}}')" >/dev/null
fi

# --- 3. images -----------------------------------------------------------------------------------
SANDBOX_IMAGE=$(bash deploy/sandbox/build.sh | tail -n 1)
export SANDBOX_TAG=${SANDBOX_IMAGE##*:}
log "sandbox image $SANDBOX_IMAGE (must exist on every node that runs graders)"

export IMAGE_PREFIX=${IMAGE_PREFIX:-code-platform}
if [ -n "${TAG:-}" ] && docker image inspect "$IMAGE_PREFIX/api:$TAG" "$IMAGE_PREFIX/hub:$TAG" >/dev/null 2>&1; then
    log "deploying the existing images tagged $TAG"
else
    eval "$(bash deploy/stack/build.sh)"
fi
export TAG
if [ -z "${MIGRATE_WITH:-}" ]; then
    if docker image inspect "$IMAGE_PREFIX/flyway:$TAG" >/dev/null 2>&1; then
        MIGRATE_WITH=flyway
    else
        MIGRATE_WITH=migrate
        log "no Flyway image: migrating with the workspace's runner ($IMAGE_PREFIX/migrate:$TAG)"
    fi
fi
export MIGRATE_WITH

# Stand-ins for the official Postgres and Redis images where those cannot be pulled.
if [ -z "${POSTGRES_IMAGE:-}" ] || [ -z "${REDIS_IMAGE:-}" ]; then
    if ! docker image inspect postgres:15-bookworm redis:7-bookworm >/dev/null 2>&1 \
        && ! { timeout 300 docker pull -q postgres:15-bookworm && timeout 300 docker pull -q redis:7-bookworm; } >/dev/null 2>&1; then
        bases=$(bash deploy/images/build-bases.sh)
        POSTGRES_IMAGE=${POSTGRES_IMAGE:-$(sed -n 's/^export POSTGRES_IMAGE=//p' <<<"$bases")}
        REDIS_IMAGE=${REDIS_IMAGE:-$(sed -n 's/^export REDIS_IMAGE=//p' <<<"$bases")}
    fi
fi
export POSTGRES_IMAGE=${POSTGRES_IMAGE:-postgres:15-bookworm}
export REDIS_IMAGE=${REDIS_IMAGE:-redis:7-bookworm}

# --- 4. secrets, socket, networking ----------------------------------------------------------------
existing=$(docker secret ls --format '{{.Name}}')
for name in "${SECRET_NAMES[@]}"; do
    var="$(tr '[:lower:]' '[:upper:]' <<<"$name")_VERSION"
    if [ -z "${!var:-}" ]; then
        n=$(sed -n "s/^${name}_v\([0-9][0-9]*\)\$/\1/p" <<<"$existing" | sort -n | tail -n 1)
        [ -n "$n" ] || die "no secret ${name}_v<N>: run deploy/stack/secrets.sh FILE first (FILE: a filled-in copy of secrets.example)"
        printf -v "$var" 'v%s' "$n"
    fi
    export "${var?}"
    log "secret $name -> ${name}_${!var}"
done

export DOCKER_GID=${DOCKER_GID:-$(stat -c %g /var/run/docker.sock)}
if [ -z "${ENDPOINT_MODE:-}" ]; then
    # Virtual IPs (and the routing mesh) need IPVS in the kernel; without it, service names
    # resolve to the tasks' own addresses instead (dnsrr).
    if [ -e /proc/net/ip_vs ] || [ -d /proc/sys/net/ipv4/vs ]; then ENDPOINT_MODE=vip; else
        ENDPOINT_MODE=dnsrr
        log "the kernel has no IPVS: endpoint_mode dnsrr"
    fi
fi
export ENDPOINT_MODE EDGE_PORT

# --- 5. deploy ---------------------------------------------------------------------------------------
log "docker stack deploy $STACK (tag $TAG, migrations: $MIGRATE_WITH)"
docker stack deploy --prune --resolve-image never -c docker-stack.yml "$STACK" >&2

MIGRATE_IMAGE="$IMAGE_PREFIX/$MIGRATE_WITH:$TAG"
EDGE="http://127.0.0.1:$EDGE_PORT"

# "complete" once a migration task of this deployment's image has exited successfully; else
# what its newest task is doing (a failed attempt is retried by Swarm, up to max_attempts).
migration_state() {
    local tasks
    tasks=$(docker service ps "${STACK}_migrate" --no-trunc \
        --format '{{.Image}}|{{.CurrentState}}|{{.Error}}' 2>/dev/null) || {
        echo "no ${STACK}_migrate service"
        return
    }
    awk -F'|' -v image="$MIGRATE_IMAGE" '
        { sub(/@.*/, "", $1) }
        $1 == image && $2 ~ /^Complete/ { complete = 1 }
        $1 == image && newest == "" { newest = $2 ($3 != "" ? " (" $3 ")" : "") }
        END {
            if (complete) print "complete"
            else if (newest != "") print newest
            else print "no task of " image " yet"
        }' <<<"$tasks"
}

# A guest signs in through the edge (the api writes a user) and lists its projects (the hub
# reads them): the schema is there and both answer.
edge_serves() {
    local session token
    session=$(curl -fsS -m 10 -X POST "$EDGE/api/auth/guest" 2>/dev/null) || return 1
    token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$session")
    [ -n "$token" ] || return 1
    curl -fsS -m 10 -o /dev/null -H "Authorization: Bearer $token" "$EDGE/hub/projects" 2>/dev/null
}

log "waiting for the services, the migration and a guest sign-in through the edge (up to $WAIT_SECONDS s)"
deadline=$((SECONDS + WAIT_SECONDS))
while :; do
    pending=$(docker stack services "$STACK" --format '{{.Name}} {{.Replicas}}' \
        | awk '$1 !~ /_migrate$/ { split($2, r, "/"); if (r[1] != r[2]) print $1 " " $2 }')
    # Services still rolling (an update waits for each new task to be healthy).
    pending+=$(docker stack services "$STACK" -q | xargs docker service inspect \
        -f '{{if .UpdateStatus}}{{if eq .UpdateStatus.State "updating" "rollback_started"}} {{.Spec.Name}} {{.UpdateStatus.State}}{{end}}{{end}}')
    migration=$(migration_state)
    edge="not tried yet"
    if [ -z "$pending" ] && [ "$migration" = complete ]; then
        edge_serves && break
        edge="a guest sign-in through $EDGE failed"
    fi
    if [ $SECONDS -ge $deadline ]; then
        docker stack ps "$STACK" --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' | head -n 30 >&2
        die "not up after $WAIT_SECONDS s: services: ${pending:-all running}; migration: $migration; edge: $edge"
    fi
    sleep 3
done
docker stack services "$STACK" >&2
rolled_back=$(docker stack services "$STACK" -q | xargs docker service inspect \
    -f '{{if .UpdateStatus}}{{if eq .UpdateStatus.State "rollback_completed" "paused"}}{{.Spec.Name}} ({{.UpdateStatus.Message}}) {{end}}{{end}}')
[ -z "$rolled_back" ] || log "warning: not updated, rolled back or paused: $rolled_back"
log "migration $MIGRATE_IMAGE: complete; a guest signed in through the edge"
echo "The platform is up: http://127.0.0.1:$EDGE_PORT/ (stack $STACK, tag $TAG)"
