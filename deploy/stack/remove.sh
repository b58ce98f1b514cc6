#!/usr/bin/env bash
# Removes the stack and waits until its services, containers and networks are gone. Data
# volumes (platform_pgdata, platform_redisdata) and secrets stay unless asked for:
#
#   deploy/stack/remove.sh [--volumes] [--secrets]
#
# The swarm itself stays initialised (`docker swarm leave --force` ends it).
set -euo pipefail

STACK=${STACK:-platform}
log() { printf '[remove] %s\n' "$*" >&2; }

volumes=0 secrets=0
for arg in "$@"; do
    case $arg in
        --volumes) volumes=1 ;;
        --secrets) secrets=1 ;;
        *) log "usage: $0 [--volumes] [--secrets]"; exit 2 ;;
    esac
done

if docker stack ls --format '{{.Name}}' | grep -qx "$STACK"; then
    log "docker stack rm $STACK"
    docker stack rm "$STACK" >&2
else
    log "no stack $STACK"
fi

# Graders get up to their stop_grace_period to finish the jobs they hold.
label="com.docker.stack.namespace=$STACK"
for _ in $(seq 100); do
    if [ -z "$(docker ps -aq --filter "label=$label")" ] && [ -z "$(docker network ls -q --filter "label=$label")" ]; then
        break
    fi
    sleep 2
done
left=$(docker ps -aq --filter "label=$label")
[ -z "$left" ] || { log "containers still there: $left"; exit 1; }
log "services, containers and networks of $STACK are gone"

if [ $volumes = 1 ]; then
    docker volume ls -q --filter "label=$label" | xargs -r docker volume rm >&2
    log "removed the volumes of $STACK"
fi
if [ $secrets = 1 ]; then
    docker secret ls -q --filter "label=code-platform.secret" | xargs -r docker secret rm >&2
    log "removed the platform's secrets"
fi
