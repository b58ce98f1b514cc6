#!/usr/bin/env bash
# Rolling update of one service of the stack:
#
#   deploy/stack/update.sh SERVICE            # build SERVICE at the work tree's tag, roll it out
#   deploy/stack/update.sh SERVICE IMAGE      # roll out an image that exists on the nodes
#   deploy/stack/update.sh SERVICE --force    # same image, new tasks (e.g. to re-read files)
#   deploy/stack/update.sh SERVICE --rollback # back to the previous spec
#
# Replicas are replaced one at a time as docker-stack.yml's update_config says (start-first for
# api, grader, relay and hub: the new task must be healthy before an old one stops; stop-first
# for the edge and the data services). A task that fails within the monitor window makes Swarm
# roll the service back by itself; the script then exits 1. Graders finish the jobs they hold on
# SIGTERM, and any job a stopped grader could not finish is claimed back by another; a stopping
# hub closes its sockets with 1001 (clients reconnect to another replica) and writes its changed
# documents to Postgres before it exits.
# Note: a later deploy/stack/deploy.sh sets every service to the tag it deploys.
set -euo pipefail
cd "$(dirname "$0")/../.."

STACK=${STACK:-platform}
log() { printf '[update] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

service=${1:-}
[ -n "$service" ] || die "usage: $0 SERVICE [IMAGE | --force | --rollback]"
full="${STACK}_$service"
docker service inspect "$full" >/dev/null 2>&1 || die "no service $full (is the stack deployed?)"
started=$SECONDS

case ${2:-} in
    --rollback)
        log "rolling $full back to its previous spec"
        docker service rollback --detach=false "$full" >&2
        ;;
    --force)
        log "replacing every task of $full (same image)"
        docker service update --force --detach=false "$full" >&2
        ;;
    *)
        image=${2:-}
        if [ -z "$image" ]; then
            eval "$(bash deploy/stack/build.sh "$service")"
            image="$IMAGE_PREFIX/$service:$TAG"
        fi
        docker image inspect "$image" >/dev/null 2>&1 || log "warning: $image is not on this node"
        log "updating $full to $image"
        docker service update --image "$image" --no-resolve-image --detach=false "$full" >&2 || true
        ;;
esac

# The CLI returns once the tasks converge; Swarm still watches them for the monitor period
# (and may roll back then): wait for its verdict.
for _ in $(seq 90); do
    state=$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$full")
    case $state in updating | rollback_started) sleep 2 ;; *) break ;; esac
done
message=$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.Message}}{{end}}' "$full")
log "$full: ${state:-updated} ${message:+($message)} in $((SECONDS - started)) s"
docker service ps "$full" --filter desired-state=running --format '{{.Name}} {{.Image}} {{.CurrentState}}' >&2
case $state in
    rollback_*|paused) exit 1 ;;
esac
