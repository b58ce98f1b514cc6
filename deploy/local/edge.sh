#!/usr/bin/env bash
# The local edge of `deploy/up.sh`: Debian's nginx with the stack's own configuration
# (deploy/docker/edge/nginx.conf), so that the page, /api, /ws (the relay) and /hub are one
# origin here as in the stack. Only what differs on one machine is rewritten: the services'
# addresses (loopback ports instead of Swarm's tasks.<service>), the listening ports, the pid
# file and the logs.
#
#   bash deploy/local/edge.sh PORT API_PORT RELAY_PORT HUB_PORT STATUS_PORT RUN_DIR LOG_DIR
#
# Starts (or reloads) nginx listening on PORT and prints nothing; the caller checks it.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[edge] %s\n' "$*" >&2; }
source deploy/lib/packages.sh

port=$1 api=$2 relay=$3 hub=$4 status=$5 run_dir=$6 log_dir=$7
need_packages nginx

conf="$run_dir/edge.conf"
sed -e "s|tasks\.api;|127.0.0.1;|; s|\$api:8080;|\$api:$api;|" \
    -e "s|tasks\.relay;|127.0.0.1;|; s|\$relay:8082;|\$relay:$relay;|" \
    -e "s|tasks\.hub;|127.0.0.1;|; s|\$hub:8083;|\$hub:$hub;|" \
    -e "s|listen 8080 default_server;|listen $port default_server;|" \
    -e "s|listen 8081;|listen 127.0.0.1:$status;|" \
    -e "s|^pid .*|pid $run_dir/edge.pid;|" \
    -e "s|^error_log stderr|error_log $log_dir/edge.log|" \
    -e "s|access_log /dev/stdout json;|access_log $log_dir/edge-access.log json;|" \
    -e "/resolver/d" \
    deploy/docker/edge/nginx.conf > "$conf"
# Every address is a loopback IP now, which needs no resolver: a name left over means the
# stack's configuration changed in a way this script does not follow.
left=$(grep -v '^[[:space:]]*#' "$conf" | grep -o 'tasks\.[a-z]*' | sort -u | tr '\n' ' ' || true)
if [ -n "$left" ]; then
    log "deploy/docker/edge/nginx.conf names services this script does not map: $left"
    exit 1
fi
nginx -t -q -c "$conf"
if [ -f "$run_dir/edge.pid" ] && kill -0 "$(cat "$run_dir/edge.pid")" 2>/dev/null; then
    nginx -c "$conf" -s reload
else
    nginx -c "$conf"
fi
