#!/usr/bin/env bash
# The student flow through the edge proxy, with curl: a guest session, the course list, the
# first exercise, a submission of print('Hello, World!'), then polling until it is graded;
# the verdict must be `accepted`. Then the hub, through the same edge: the guest's project in
# the course (POST /hub/courses/{c}/project, GET /hub/projects), a new file, a WebSocket upgrade
# to its document (101) and, where $STATE_DIR/venv has pycrdt and websockets (installed by
# deploy/hub/clients.sh), an edit on one socket that a second socket must see (the edge
# balances each upgrade on its own, so the two may be on different hub replicas) and that must
# reach Postgres.
#
#   deploy/stack/smoke.sh                 # against http://127.0.0.1:8088 (BASE or EDGE_PORT)
#   deploy/stack/smoke.sh --jobs 10       # 10 submissions at once, each must be accepted
#
# CODE replaces the submitted program (it must still be accepted for exercise 1); HUB=0 skips
# the hub.
# Prints one line per step and per verdict; exits non-zero on the first thing that is wrong.
# Every request goes to BASE only and the polling is bounded (TIMEOUT seconds, default 120).
set -euo pipefail

BASE=${BASE:-http://127.0.0.1:${EDGE_PORT:-8088}}
TIMEOUT=${TIMEOUT:-120}
HUB=${HUB:-1}
PYTHON=${PYTHON:-${STATE_DIR:-/var/lib/code-platform}/venv/bin/python}
jobs=1
if [ "${1:-}" = --jobs ]; then jobs=${2:?--jobs N}; fi

say() { printf '[smoke] %s\n' "$*"; }
# Failures go to stderr, so they show even from inside $(…).
die() { say "FAIL: $*" >&2; exit 1; }
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
        say "FAIL: $method $path -> $status: $(head -c 300 "$out")" >&2
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

# --- the hub ---------------------------------------------------------------------------------
hub_summary=""
if [ "$HUB" = 1 ]; then
    call POST "/api/courses/$course/enrol" >/dev/null
    opened=$(call POST "/hub/courses/$course/project")
    project=$(jq -r .project.id <<<"$opened")
    [[ -n $project && $project != null ]] || die "POST /hub/courses/$course/project gave no project"
    say "POST /hub/courses/$course/project -> project $project ($(jq '[.files[] | select(.directory | not)] | length' <<<"$opened") file(s) from the template)"

    listed=$(call GET /hub/projects)
    jq -e --argjson p "$project" 'any(.projects[]; .id == $p)' <<<"$listed" >/dev/null \
        || die "GET /hub/projects does not list project $project: $(head -c 300 <<<"$listed")"
    say "GET /hub/projects -> $(jq '.projects | length' <<<"$listed") project(s), $project among them"

    path="smoke-$(date +%s)-$$.py"
    file=$(call POST "/hub/projects/$project/files" "$(jq -nc --arg path "$path" '{path: $path}')" | jq -r .id)
    [[ -n $file && $file != null ]] || die "POST /hub/projects/$project/files gave no id"
    say "POST /hub/projects/$project/files -> file $file ($path)"

    # The upgrade itself, with curl: the edge must pass Upgrade and Connection on to the hub.
    # curl stops after the headers (-m 2 ends the upgraded connection).
    docs="/hub/projects/$project/docs/$file"
    upgrade=$(curl -sS -m 2 -o /dev/null -D - --http1.1 \
        -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
        -H "Sec-WebSocket-Key: $(head -c 16 /dev/urandom | base64)" \
        "$BASE$docs?token=$token" 2>/dev/null | head -n 1 | tr -d '\r' || true)
    [[ $upgrade == "HTTP/1.1 101"* ]] || die "GET $docs (WebSocket upgrade) -> ${upgrade:-no answer}"
    say "GET $docs?token=… (WebSocket upgrade) -> $upgrade"
    hub_summary="; hub: project $project, document $file upgraded (101)"

    if [ -x "$PYTHON" ] && "$PYTHON" -c 'import pycrdt, websockets' 2>/dev/null; then
        text="print('hub smoke $$')"
        live=$("$PYTHON" - "${BASE/#http/ws}$docs?token=$token" "$text" 2>&1 <<'PY'
# Two sockets on one document through the edge: B asks for everything, A sends an edit (a
# y-protocols update), B must receive it.
import sys, time
from pycrdt import Doc, Text
from websockets.sync.client import connect

url, expected = sys.argv[1], sys.argv[2]

def var_uint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

def read_var_uint(buf, i):
    n = shift = 0
    while True:
        byte = buf[i]
        i += 1
        n |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return n, i

def sync(step, payload):  # messageSync, then step 1 (0), step 2 (1) or update (2)
    return var_uint(0) + var_uint(step) + var_uint(len(payload)) + payload

def apply(doc, frame):
    kind, i = read_var_uint(frame, 0)
    if kind != 0:
        return
    step, i = read_var_uint(frame, i)
    size, i = read_var_uint(frame, i)
    if step in (1, 2):
        doc.apply_update(bytes(frame[i:i + size]))

started = time.monotonic()
doc_b = Doc()
text_b = doc_b.get("content", type=Text)
with connect(url, open_timeout=10, close_timeout=2) as b:
    b.send(sync(0, var_uint(0)))  # an empty state vector
    doc_a = Doc()
    text_a = doc_a.get("content", type=Text)
    with connect(url, open_timeout=10, close_timeout=2) as a:
        text_a.insert(0, expected)
        a.send(sync(2, doc_a.get_update()))
        deadline = time.monotonic() + 10
        while str(text_b) != expected:
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit(f"socket B has {str(text_b)!r}, not {expected!r}, after 10 s")
            try:
                frame = b.recv(timeout=left)
            except TimeoutError:
                continue
            if isinstance(frame, bytes):
                apply(doc_b, frame)
        print(f"sockets A ({a.response.status_code}) and B ({b.response.status_code}): "
              f"A's edit reached B after {time.monotonic() - started:.2f} s")
PY
        ) || die "live edit: $live"
        say "$live"
        deadline=$(($(date +%s) + 30))
        until [ "$(call GET "/hub/projects/$project/files/$file" | jq -r .content)" = "$text" ]; do
            [ "$(date +%s)" -lt $deadline ] || die "GET /hub/projects/$project/files/$file: the edit is not in Postgres after 30 s"
            sleep 0.5
        done
        say "GET /hub/projects/$project/files/$file -> the edit, synced to Postgres"
        hub_summary="; hub: project $project, document $file edited live and synced"
    else
        say "no pycrdt and websockets in $PYTHON (deploy/hub/clients.sh installs them): live edit skipped"
    fi
fi

say "OK: $accepted of ${#ids[@]} accepted$hub_summary"
