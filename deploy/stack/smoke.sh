#!/usr/bin/env bash
# The student flow through the edge proxy, with curl: a guest session, the course list, the
# first exercise, a submission of print('Hello, World!'), then polling until it is graded;
# the verdict must be `accepted`.
#
#   deploy/stack/smoke.sh                 # against http://127.0.0.1:8088 (BASE or EDGE_PORT)
#   deploy/stack/smoke.sh --jobs 10       # 10 submissions at once, each must be accepted
#
# CODE replaces the submitted program (it must still be accepted for exercise 1).
# Prints one line per step and per verdict; exits non-zero on the first thing that is wrong.
# Every request goes to BASE only and the polling is bounded (TIMEOUT seconds, default 120).
set -euo pipefail

BASE=${BASE:-http://127.0.0.1:${EDGE_PORT:-8088}}
TIMEOUT=${TIMEOUT:-120}
jobs=1
if [ "${1:-}" = --jobs ]; then jobs=${2:?--jobs N}; fi

say() { printf '[smoke] %s\n' "$*"; }
die() { say "FAIL: $*"; exit 1; }
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"

# call METHOD PATH [JSON]: the response body; fails on any non-2xx status, showing the body.
call() {
    local method=$1 path=$2 body=${3:-} out status
    out=$(mktemp)
    status=$(curl -sS -m 10 -o "$out" -w '%{http_code}' -X "$method" \
        ${token:+-H "Authorization: Bearer $token"} \
        ${body:+-H 'Content-Type: application/json' --data "$body"} \
        "$BASE$path") || { rm -f "$out"; die "$method $path: no answer"; }
    if [[ $status != 2?? ]]; then
        say "$method $path -> $status: $(head -c 300 "$out")"
        rm -f "$out"
        exit 1
    fi
    cat "$out"
    rm -f "$out"
}

token=""
page=$(curl -fsS -m 10 "$BASE/") || die "GET / (the web UI) failed"
grep -qi '<html' <<<"$page" || die "GET / did not return the web UI"
say "GET / -> web UI ($(wc -c <<<"$page") bytes)"

token=$(call POST /api/auth/guest | jq -r .token)
[ -n "$token" ] && [ "$token" != null ] || die "POST /api/auth/guest gave no token"
say "POST /api/auth/guest -> token (${#token} chars)"

courses=$(call GET /api/courses)
course=$(jq -r '.[0].id' <<<"$courses")
[ "$course" != null ] || die "GET /api/courses is empty"
say "GET /api/courses -> $(jq length <<<"$courses") course(s); first: $(jq -r '.[0].title' <<<"$courses") (id $course)"

assignments=$(call GET "/api/courses/$course/assignments")
exercise=$(jq -c '.assignments | sort_by(.position) | .[0]' <<<"$assignments")
assignment=$(jq -r .id <<<"$exercise")
say "GET /api/courses/$course/assignments -> exercise 1: $(jq -r .title <<<"$exercise") (id $assignment)"

code=$(jq -n --arg code "${CODE:-print('Hello, World!')}" '{code: $code}')
ids=()
started=$(date +%s.%N)
for _ in $(seq "$jobs"); do
    ids+=("$(call POST "/api/assignments/$assignment/submissions" "$code" | jq -r .id)")
done
say "POST /api/assignments/$assignment/submissions x$jobs -> ids ${ids[*]}"

deadline=$(($(date +%s) + TIMEOUT))
declare -A done_ids=()
accepted=0
while [ ${#done_ids[@]} -lt ${#ids[@]} ]; do
    for id in "${ids[@]}"; do
        [ -z "${done_ids[$id]:-}" ] || continue
        submission=$(call GET "/api/submissions/$id")
        status=$(jq -r .status <<<"$submission")
        case $status in
            graded | error)
                verdict=$(jq -r '.verdict // "none"' <<<"$submission")
                elapsed=$(awk -v now="$(date +%s.%N)" -v t0="$started" 'BEGIN { printf "%.2f", now - t0 }')
                say "GET /api/submissions/$id -> $status, verdict $verdict ($elapsed s after submitting)"
                done_ids[$id]=$verdict
                if [ "$verdict" = accepted ]; then accepted=$((accepted + 1)); else
                    say "feedback: $(jq -r .feedback <<<"$submission")"
                fi
                ;;
        esac
    done
    [ ${#done_ids[@]} -lt ${#ids[@]} ] || break
    [ "$(date +%s)" -lt $deadline ] || die "$(( ${#ids[@]} - ${#done_ids[@]} )) submission(s) not graded after $TIMEOUT s"
    sleep 0.5
done

[ $accepted -eq ${#ids[@]} ] || die "$accepted of ${#ids[@]} accepted"
say "OK: $accepted of ${#ids[@]} accepted"
