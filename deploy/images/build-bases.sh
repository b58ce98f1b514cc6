#!/usr/bin/env bash
# Builds, from Debian's packages, local stand-ins for the official base images the stack's
# Dockerfiles and docker-stack.yml name by default, for machines that cannot pull images:
#
#   eval "$(deploy/images/build-bases.sh)"     # exports RUST_IMAGE, RUNTIME_IMAGE, ...
#
# | variable         | official default      | local stand-in (built here)                        |
# |------------------|-----------------------|----------------------------------------------------|
# | RUST_IMAGE       | rust:1-bookworm       | code-platform/rust: bookworm + build-essential,    |
# |                  |                       | pkg-config, libjs-codemirror + this machine's      |
# |                  |                       | active rustup toolchain (cargo, rustc) copied in   |
# | RUNTIME_IMAGE    | debian:bookworm-slim  | code-platform/runtime: bookworm + ca-certificates, |
# |                  |                       | curl (for HEALTHCHECKs)                            |
# | EDGE_BASE_IMAGE  | debian:bookworm-slim  | code-platform/edge-base: + nginx, curl             |
# | POSTGRES_IMAGE   | postgres:15-bookworm  | code-platform/postgres: postgresql-15 with an      |
# |                  |                       | entrypoint honouring POSTGRES_USER/_DB/            |
# |                  |                       | _PASSWORD_FILE like the official image             |
# | REDIS_IMAGE      | redis:7-bookworm      | code-platform/redis: redis-server (7.0), /data     |
#
# Each root filesystem is made with mmdebstrap and `docker import`ed, as deploy/sandbox/build.sh
# does. Tags are the first 12 hex digits of a sha256 over what decides the content (the
# mmdebstrap settings, the package list, for RUST_IMAGE the toolchain's `rustc -vV`, for the
# postgres and redis images their Dockerfile and scripts), so an unchanged recipe is not
# rebuilt. Progress goes to stderr; stdout is only `export NAME=image` lines.
# Needs root when something has to be built. Idempotent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
VARIANT=minbase
DPKG_EXCLUDES=(
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
)
MERGED_USR_HOOKS=/usr/share/mmdebstrap/hooks/merged-usr

log() { printf '[bases] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed"

exists() { docker image inspect "$1" >/dev/null 2>&1; }

short_hash() { sha256sum | cut -c1-12; }

ensure_mmdebstrap() {
    local need=()
    command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
    [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || need+=(debian-archive-keyring)
    if ((${#need[@]})); then
        [[ $(id -u) -eq 0 ]] || die "installing ${need[*]} needs root"
        log "installing ${need[*]} from Debian's packages"
        DEBIAN_FRONTEND=noninteractive apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
    fi
}

# packages_of FILE: the comma-separated package list of a *.packages file.
packages_of() {
    { grep -v '^[[:space:]]*#' "$1" || true; } | tr -s '[:space:]' '\n' | sed '/^$/d' | paste -sd, -
}

# rootfs IMAGE PACKAGES [extra mmdebstrap arguments...]: mmdebstrap + docker import.
rootfs() {
    local image=$1 packages=$2; shift 2
    if exists "$image"; then
        log "$image already exists"
        return
    fi
    [[ $(id -u) -eq 0 ]] || die "building $image needs root (mmdebstrap)"
    ensure_mmdebstrap
    local hooks=() workdir
    [[ -d $MERGED_USR_HOOKS ]] && hooks=(--hook-dir="$MERGED_USR_HOOKS")
    workdir=$(mktemp -d "${TMPDIR:-/var/tmp}/bases.XXXXXXXX")
    # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
    trap "rm -rf -- '$workdir'" EXIT
    log "building $image ($SUITE $VARIANT +$packages) with mmdebstrap"
    local started=$SECONDS
    mmdebstrap --mode=root --variant="$VARIANT" --format=tar \
        --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        --include="$packages" "${DPKG_EXCLUDES[@]}" "${hooks[@]}" "$@" \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/apt "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log "$1"/var/log/bootstrap.log' \
        "$SUITE" "$workdir/rootfs.tar" "$MIRROR" >&2
    log "importing $image ($(du -h "$workdir/rootfs.tar" | cut -f1))"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        --message "mmdebstrap --variant=$VARIANT --include=$packages $SUITE $MIRROR" \
        "$workdir/rootfs.tar" "$image" >&2
    rm -rf -- "$workdir"
    trap - EXIT
    log "built $image in $((SECONDS - started)) s"
}

# recipe_tag PACKAGES_FILE [more text...]: the tag of a root filesystem recipe.
recipe_tag() {
    local file=$1; shift
    { printf '%s\n' "$SUITE" "$MIRROR" "$VARIANT" "${DPKG_EXCLUDES[@]}" merged-usr "$@"; cat "$file"; } | short_hash
}

# --- runtime: what the services' final images start from -------------------------------
runtime_image="code-platform/runtime:$(recipe_tag runtime.packages)"
rootfs "$runtime_image" "$(packages_of runtime.packages)"

# --- edge: nginx ---------------------------------------------------------------------------
edge_image="code-platform/edge-base:$(recipe_tag edge.packages)"
rootfs "$edge_image" "$(packages_of edge.packages)"

# --- rust: Debian + this machine's rustup toolchain ---------------------------------------
# Debian's rustc (1.63 in bookworm) is too old for the workspace, and no registry hands out
# rust:1-bookworm here, so the active toolchain's cargo and rustc (not its docs, which are
# most of its size) are copied into /usr/local/rust, and cargo's home is /usr/local/cargo as in
# the official image.
sysroot=$(rustc --print sysroot 2>/dev/null) || die "no Rust toolchain on this machine (rustc --print sysroot)"
[[ -x $sysroot/bin/cargo && -x $sysroot/bin/rustc ]] || die "$sysroot has no bin/cargo and bin/rustc"
rust_version=$("$sysroot/bin/rustc" -vV)
rust_image="code-platform/rust:$(recipe_tag rust.packages "$rust_version" toolchain-layout-2)"
rootfs "$rust_image" "$(packages_of rust.packages)" \
    --customize-hook="mkdir -p \"\$1/usr/local/rust\" \"\$1/usr/local/cargo/bin\" && tar -C '$sysroot' -cf - bin/cargo bin/rustc bin/rustdoc lib | tar -C \"\$1/usr/local/rust\" -xf -" \
    --customize-hook='chroot "$1" /usr/local/rust/bin/rustc --version >&2'
# docker import cannot set these, so a one-line build adds them (cached after the first time).
rust_ready="$rust_image-env"
if ! exists "$rust_ready"; then
    printf 'FROM %s\nENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' "$rust_image" \
        | docker build -q -t "$rust_ready" - >&2
fi

# --- postgres and redis: stand-ins for the official images ---------------------------------
derived() {
    local name=$1 base=$2 tag
    tag=$( { echo "$base"; cat "$name"/*; } | short_hash)
    local image="code-platform/$name:$tag"
    if exists "$image"; then
        log "$image already exists"
    else
        log "building $image"
        docker build -q --build-arg "BASE_IMAGE=$base" -t "$image" "$name" >&2
    fi
    printf '%s' "$image"
}
pg_base="code-platform/postgres-base:$(recipe_tag postgres.packages)"
# The package's postinst makes a "main" cluster; the image makes its own at first start.
rootfs "$pg_base" "$(packages_of postgres.packages)" \
    --customize-hook='rm -rf "$1"/var/lib/postgresql/*/main "$1"/etc/postgresql/*/main'
postgres_image=$(derived postgres "$pg_base")

redis_base="code-platform/redis-base:$(recipe_tag redis.packages)"
rootfs "$redis_base" "$(packages_of redis.packages)"
redis_image=$(derived redis "$redis_base")

echo "export RUST_IMAGE=$rust_ready"
echo "export RUNTIME_IMAGE=$runtime_image"
echo "export EDGE_BASE_IMAGE=$edge_image"
echo "export POSTGRES_IMAGE=$postgres_image"
echo "export REDIS_IMAGE=$redis_image"
