#!/usr/bin/env bash
# Operations drills against a deployed stack, all through the edge on 127.0.0.1:
#
#   deploy/stack/drill.sh [update] [scale] [kill]      (default: all three)
#
# update  a rolling update of the graders (`docker service update --force`) while jobs (two
#         every 3 s, at least ten) are submitted during the update: each must be accepted
# scale   graders 2 -> 3 (a job is graded), then back to 2
# kill    `docker kill` one grader, one api and one hub task's container: Swarm must replace
#         each, and the student flow (and the hub's, see smoke.sh) works afterwards
#
# Bounded in time; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

STACK=${STACK:-platform}
say() { printf '[drill] %s\n' "$*"; }
die() { say "FAIL: $*"; exit 1; }

running() { # running SERVICE: how many of its tasks are running
    docker service ps "${STACK}_$1" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true
}
wait_running() { # wait_running SERVICE N [SECONDS]
    local deadline=$((SECONDS + ${3:-120}))
    until [ "$(running "$1")" -eq "$2" ]; do
        [ $SECONDS -lt $deadline ] || die "$1 does not have $2 running tasks"
        sleep 2
    done
}
tasks() { # tasks SERVICE [FILTER...]: its newest tasks
    local service=$1; shift
    docker service ps "${STACK}_$service" "$@" --format '  {{.Name}} {{.ID}} {{.DesiredState}} {{.CurrentState}} {{.Error}}' | head -n 8
}

drill_update() {
    say "rolling update of the graders while jobs are in flight"
    local log=target/docker/drill-update.log pids=() failed=0 wave=0 since
    mkdir -p target/docker
    : > "$log"
    since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    docker service update --force --detach=false "${STACK}_grader" >>"$log" 2>&1 &
    local update=$!
    # Waves of two submissions every 3 s for as long as the update runs (at least five waves:
    # ten jobs). Each program sleeps 1.2 s before printing, so graders hold jobs when they are
    # told to stop.
    while [ $wave -lt 5 ] || kill -0 "$update" 2>/dev/null; do
        wave=$((wave + 1))
        [ $wave -le 40 ] || break
        CODE=$'import time\ntime.sleep(1.2)\nprint("Hello, World!")' TIMEOUT=300 HUB=0 \
            bash deploy/stack/smoke.sh --jobs 2 > "target/docker/drill-wave-$wave.log" 2>&1 &
        pids+=($!)
        sleep 3
    done
    wait "$update" || die "the grader update failed: $(tail -n 3 "$log")"
    for i in "${!pids[@]}"; do
        if wait "${pids[$i]}"; then :; else failed=$((failed + 1)); fi
        grep -h 'verdict\|FAIL' "target/docker/drill-wave-$((i + 1)).log" | sed 's/^/  /'
    done
    [ $failed -eq 0 ] || die "$failed wave(s) lost a verdict"
    tasks grader
    # What the replaced graders did after SIGTERM: jobs graded then were in flight.
    local task container lines
    for task in $(docker service ps "${STACK}_grader" --filter desired-state=shutdown -q); do
        container=$(docker ps -aq --filter "label=com.docker.swarm.task.id=$task" | head -n 1)
        [ -n "$container" ] || continue
        lines=$(docker logs --since "$since" "$container" 2>&1 \
            | jq -rc 'select(.fields.message != null) | "  \(.timestamp[11:23]) \(.fields.message) \(.fields.verdict // "")"' 2>/dev/null \
            | sed -n '/SIGTERM/,$p')
        [ -n "$lines" ] || continue
        say "replaced grader task $task after SIGTERM ($(grep -c graded <<<"$lines") job(s) finished after it):"
        printf '%s\n' "$lines"
    done
    say "update: $((${#pids[@]} * 2)) of $((${#pids[@]} * 2)) jobs got their verdict during the rolling update"
}

drill_scale() {
    say "scaling graders 2 -> 3"
    docker service scale --detach=false "${STACK}_grader=3" >/dev/null
    wait_running grader 3
    tasks grader --filter desired-state=running
    bash deploy/stack/smoke.sh --jobs 3 | tail -n 1
    say "scaling graders 3 -> 2"
    docker service scale --detach=false "${STACK}_grader=2" >/dev/null
    wait_running grader 2
    tasks grader --filter desired-state=running
    say "scale: 3 running, then 2 running"
}

drill_kill() {
    local service container before
    for service in grader api hub; do
        before=$(running "$service")
        container=$(docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$service" | head -n 1)
        [ -n "$container" ] || die "no running $service container"
        say "docker kill $(docker inspect -f '{{.Name}}' "$container" | tr -d /)"
        docker kill "$container" >/dev/null
        sleep 3
        wait_running "$service" "$before"
        # The replacement is a new task; the killed one is listed as failed.
        tasks "$service"
    done
    bash deploy/stack/smoke.sh | tail -n 1
    say "kill: every killed task was replaced"
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(update scale kill)
for step in "${steps[@]}"; do
    case $step in
        update) drill_update ;;
        scale) drill_scale ;;
        kill) drill_kill ;;
        *) die "unknown drill $step (update, scale, kill)" ;;
    esac
done
say "all drills passed"
