#!/usr/bin/env bash
# Builds the sandbox image in which every submission runs, from Debian's packages, on this
# machine (no container registry is needed).
#
#   IMAGE=$(deploy/sandbox/build.sh | tail -n1)
#
# The image is tagged with the first 12 hex digits of a sha256 over its recipe (this script,
# the Dockerfile, .dockerignore, the package list and the runner), so a changed recipe gives a
# new tag and an unchanged one is not rebuilt. The base root filesystem is built with
# mmdebstrap and imported as code-platform/sandbox-base:<base tag>, where the base tag covers
# only what goes into the base (the mmdebstrap settings below and the package list), so editing
# the runner does not re-download Debian.
#
# Progress goes to stderr; the last line of stdout is exactly the image reference.
# Runs as root (mmdebstrap, apt-get) when something has to be built. Idempotent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
VARIANT=minbase
REPO=code-platform/sandbox
BASE_REPO=code-platform/sandbox-base
# Files that never go into the base image (documentation, man pages, translations); the
# copyright files stay.
DPKG_EXCLUDES=(
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
)
# Merged /usr by symlinks, as debootstrap and the official images do, instead of letting
# mmdebstrap install the usrmerge package (which drags in perl, about 50 MB).
MERGED_USR_HOOKS=/usr/share/mmdebstrap/hooks/merged-usr

log() { printf '[sandbox-build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The recipe: every file that decides what the image contains, in a fixed order.
RECIPE=(build.sh Dockerfile .dockerignore packages.txt runner/runner.py runner/call.py)
for f in "${RECIPE[@]}"; do
    [[ -f $f ]] || die "missing recipe file $here/$f"
done

hash_files() {
    # sha256 over "name NUL sha256(content)" of each file, in the order given.
    local f
    for f in "$@"; do
        printf '%s\0' "$f"
        sha256sum <"$f" | cut -d' ' -f1
    done | sha256sum | cut -c1-12
}

TAG=$(hash_files "${RECIPE[@]}")
IMAGE="$REPO:$TAG"
# The base covers the package list and the mmdebstrap settings (they are all in this string).
BASE_TAG=$( { printf '%s\n' "$SUITE" "$MIRROR" "$VARIANT" "${DPKG_EXCLUDES[@]}" merged-usr-hooks; cat packages.txt; } \
            | sha256sum | cut -c1-12)
BASE_IMAGE="$BASE_REPO:$BASE_TAG"

command -v docker >/dev/null 2>&1 || die "docker is not installed"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE already exists"
    echo "$IMAGE"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "building the image needs root (mmdebstrap, apt-get)"

packages=$( { grep -v '^[[:space:]]*#' packages.txt || true; } | tr -s '[:space:]' '\n' | sed '/^$/d' | paste -sd, -)
[[ -n $packages ]] || die "packages.txt lists no package"

workdir=""
cleanup() {
    if [[ -n $workdir && -d $workdir ]]; then
        rm -rf -- "$workdir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE already exists"
else
    need=()
    command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [[ -f $keyring ]] || need+=(debian-archive-keyring)
    if ((${#need[@]})); then
        log "installing ${need[*]} from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends "${need[@]}" >&2
    fi

    hooks=()
    if [[ -d $MERGED_USR_HOOKS ]]; then
        hooks=(--hook-dir="$MERGED_USR_HOOKS")
    else
        log "warning: $MERGED_USR_HOOKS not found; mmdebstrap will merge /usr its own way"
    fi

    workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/sandbox-build.XXXXXXXX")
    tarball="$workdir/rootfs.tar"
    log "building the base root filesystem ($SUITE, $VARIANT, +$packages) with mmdebstrap"
    mmdebstrap \
        --mode=root \
        --variant="$VARIANT" \
        --format=tar \
        --keyring="$keyring" \
        --include="$packages" \
        "${DPKG_EXCLUDES[@]}" \
        "${hooks[@]}" \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/apt "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log "$1"/var/log/bootstrap.log' \
        "$SUITE" "$tarball" "$MIRROR" >&2
    log "importing it as $BASE_IMAGE ($(du -h "$tarball" | cut -f1))"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' \
        --message "mmdebstrap --variant=$VARIANT --include=$packages $SUITE $MIRROR" \
        "$tarball" "$BASE_IMAGE" >&2
    rm -rf -- "$workdir"
    workdir=""
fi

log "building $IMAGE"
docker build \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --label "org.opencontainers.image.title=code-platform sandbox" \
    --label "code-platform.sandbox.base=$BASE_IMAGE" \
    -t "$IMAGE" \
    "$here" >&2

log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}'))"
echo "$IMAGE"
