#!/usr/bin/env bash
# Makes this node a swarm manager: `docker swarm init` when it is in no swarm (ADVERTISE_ADDR,
# default 127.0.0.1: a one-node swarm reachable only from this machine). Used by secrets.sh
# and deploy.sh, so either may come first on a fresh machine.
set -euo pipefail

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
    addr=${ADVERTISE_ADDR:-127.0.0.1}
    printf '[swarm] docker swarm init --advertise-addr %s\n' "$addr" >&2
    docker swarm init --advertise-addr "$addr" --listen-addr "$addr:2377" >/dev/null
fi
docker info --format '{{.Swarm.ControlAvailable}}' | grep -q true || {
    printf '[swarm] error: this node is in a swarm but not a manager\n' >&2
    exit 1
}
