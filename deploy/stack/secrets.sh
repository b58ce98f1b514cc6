#!/usr/bin/env bash
# Creates the platform's Docker secrets from a filled-in copy of secrets.example:
#
#   deploy/stack/secrets.sh /root/platform.secrets [NAME...]
#
# Each `name=value` line becomes the secret `<name>_v<N>`, where N is one more than the newest
# version that exists, but only when the value differs from that newest version's (each
# version carries a salted sha256 of its value as a label, so an unchanged value is left
# alone). The stack mounts the version that deploy/stack/deploy.sh picks (the newest, or
# <NAME>_VERSION) as /run/secrets/<name>: rotating a secret is a new version plus deploy.sh,
# which rolls exactly the services that use it. With NAMEs, only those lines are read.
# Nothing is printed of any value. Old versions can be removed once no service uses them:
# docker secret rm jwt_secret_v1.
set -euo pipefail

log() { printf '[secrets] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

file=${1:-}
[ -n "$file" ] && [ -f "$file" ] || die "usage: $0 FILE [NAME...]  (FILE: a filled-in copy of secrets.example)"
shift
only=("$@")

bash "$(dirname "$0")/swarm.sh"

# newest_version NAME: the highest N of the secrets NAME_vN, or 0.
newest_version() {
    docker secret ls --format '{{.Name}}' \
        | sed -n "s/^$1_v\([0-9][0-9]*\)\$/\1/p" | sort -n | tail -n 1 | grep . || echo 0
}

digest() { # digest SALT VALUE
    printf '%s\0%s' "$1" "$2" | sha256sum | cut -c1-64
}

created=0 unchanged=0
while IFS= read -r line || [ -n "$line" ]; do
    case $line in '' | '#'*) continue ;; esac
    [[ $line == *=* ]] || die "not a name=value line: ${line%%=*}…"
    name=${line%%=*}
    value=${line#*=}
    [[ $name =~ ^[a-z][a-z0-9_]*$ ]] || die "bad secret name '$name' (lower case, digits, _)"
    if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then continue; fi
    [ -n "$value" ] || die "$name has an empty value"
    if [[ $value == change-me* || $value == *:change-me@* ]]; then
        log "warning: $name still has the example value from secrets.example"
    fi

    n=$(newest_version "$name")
    if [ "$n" -gt 0 ]; then
        labels=$(docker secret inspect -f '{{index .Spec.Labels "code-platform.salt"}} {{index .Spec.Labels "code-platform.sha256"}}' "${name}_v$n")
        salt=${labels%% *}
        if [ -n "$salt" ] && [ "$(digest "$salt" "$value")" = "${labels#* }" ]; then
            log "${name}_v$n is current"
            unchanged=$((unchanged + 1))
            continue
        fi
    fi
    salt=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
    new="${name}_v$((n + 1))"
    printf '%s' "$value" | docker secret create \
        --label "code-platform.secret=$name" \
        --label "code-platform.salt=$salt" \
        --label "code-platform.sha256=$(digest "$salt" "$value")" \
        "$new" - >/dev/null
    log "created $new"
    created=$((created + 1))
done < "$file"

log "$created created, $unchanged unchanged; deploy/stack/deploy.sh mounts the newest versions"
