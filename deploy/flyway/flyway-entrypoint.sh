#!/usr/bin/env bash
# Runs Flyway against the database named by the Docker secret database_url
# (postgres://user:password@host:port/database?params, as the api reads it): the URL becomes
# FLYWAY_URL (jdbc:postgresql://host:port/database?params) and the percent-decoded user and
# password FLYWAY_USER and FLYWAY_PASSWORD, so no credential is in the image, the stack file or
# the environment Docker records. Then `flyway "$@"` (default: migrate).
set -euo pipefail

secret=${DATABASE_URL_FILE:-/run/secrets/database_url}

# percent_decode TEXT: %XX sequences to bytes.
percent_decode() {
    local s=${1//\\/\\\\}
    printf '%b' "${s//%/\\x}"
}

if [[ -z ${FLYWAY_URL:-} ]]; then
    [[ -r $secret ]] || { echo "flyway: no FLYWAY_URL and no readable secret $secret" >&2; exit 1; }
    url=$(<"$secret")
    url=${url%%[[:space:]]}
    case $url in
        postgres://* | postgresql://*) ;;
        *) echo "flyway: $secret is not a postgres:// URL" >&2; exit 1 ;;
    esac
    rest=${url#*://}
    authority=${rest%%/*}
    path=${rest:${#authority}}
    if [[ $authority == *@* ]]; then
        userinfo=${authority%@*}
        hostport=${authority##*@}
        if [[ $userinfo == *:* ]]; then
            FLYWAY_USER=$(percent_decode "${userinfo%%:*}")
            FLYWAY_PASSWORD=$(percent_decode "${userinfo#*:}")
        else
            FLYWAY_USER=$(percent_decode "$userinfo")
        fi
    else
        hostport=$authority
    fi
    export FLYWAY_URL="jdbc:postgresql://$hostport$path"
    export FLYWAY_USER FLYWAY_PASSWORD
fi

exec flyway "$@"
