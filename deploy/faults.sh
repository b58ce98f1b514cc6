#!/usr/bin/env bash
# The fault campaign: under a steady load of submissions and of editors typing, SIGKILLs each
# service in turn, restarts Redis and Postgres, makes Docker unreachable and fills Redis, and
# prints a table of what each fault did (submissions sent / graded / lost / graded twice, edits
# acknowledged / lost, seconds to recover) and `N passed, N failed`. Exits non-zero when any
# fault failed. The campaign takes about four minutes once built; not part of deploy/test.sh.
#
#   deploy/faults.sh                                  # every fault
#   deploy/faults.sh --only kill-grader,fill-redis    # some of them
#
# It runs its own Redis, PostgreSQL cluster and Docker socket proxy on free loopback ports in
# a temporary folder (removed at the end, also on Ctrl-C), so the shared ones are untouched.
# Every process's log is kept in target/faults/.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[faults] %s\n' "$*" >&2; }

source deploy/lib/packages.sh
need_packages redis-server postgresql

SANDBOX_IMAGE=$(bash deploy/sandbox/build.sh | tail -n 1)
export SANDBOX_IMAGE
log "sandbox image $SANDBOX_IMAGE"

log "building the services and the campaign (release)"
cargo build --release --locked -p db -p api -p grader -p relay -p hub -p bench

work=$(mktemp -d -t faults.XXXXXX)
campaign=
cleanup() {
    # The campaign stops its processes itself on SIGINT/SIGTERM; this covers its crash.
    if [ -n "$campaign" ] && kill -0 "$campaign" 2>/dev/null; then
        kill -TERM "$campaign" 2>/dev/null || true
        wait "$campaign" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

target/release/bench faults --work-dir "$work" "$@" &
campaign=$!
wait "$campaign"
