#!/usr/bin/env bash
# Builds the stack's images from deploy/docker/Dockerfile, tagged with the git commit:
#
#   eval "$(deploy/stack/build.sh [SERVICE...])"    # exports TAG and IMAGE_PREFIX
#
# SERVICE is any of edge, migrate, grader, relay, hub, api (default: all), plus flyway, built
# from deploy/flyway/Dockerfile when its base image (FLYWAY_IMAGE, default flyway/flyway:10) is
# available. Images are $IMAGE_PREFIX/<service>:$TAG (prefix default code-platform); with
# PUSH=1 they are pushed, for swarms of several nodes.
#
# TAG is the commit (12 hex digits); a work tree with changes gets `-dirty-<hash of the
# changes>`, so a changed tree never overwrites the image of a commit.
#
# Base images (BASES):
#   official  rust:1-bookworm, debian:bookworm-slim (override with RUST_IMAGE, RUNTIME_IMAGE,
#             EDGE_BASE_IMAGE)
#   local     deploy/images/build-bases.sh builds equivalents from Debian's packages
#   auto      (default) official when they are present or can be pulled, else local
#
# Crates: the build context carries the workspace's dependencies vendored by `cargo vendor`
# into target/docker/vendor (git-ignored, never committed), and the image build runs cargo
# offline. Why: BuildKit (needed for cache mounts of ~/.cargo/registry) is not available with
# every Docker client, a build that fetches crates depends on the network of the build
# container, and vendored sources make the build reproducible from Cargo.lock. With VENDOR=0
# cargo fetches from crates.io inside the build instead.
#
# Progress goes to stderr; stdout is only `export NAME=value` lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

log() { printf '[build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ALL_SERVICES=(edge migrate grader relay hub api)
IMAGE_PREFIX=${IMAGE_PREFIX:-code-platform}
BASES=${BASES:-auto}
VENDOR=${VENDOR:-1}
FLYWAY_IMAGE=${FLYWAY_IMAGE:-flyway/flyway:10}

services=("$@")
[ ${#services[@]} -gt 0 ] || services=("${ALL_SERVICES[@]}" flyway)
for s in "${services[@]}"; do
    case " ${ALL_SERVICES[*]} flyway " in *" $s "*) ;; *) die "unknown service $s (known: ${ALL_SERVICES[*]} flyway)" ;; esac
done

# --- the tag -----------------------------------------------------------------------------
if [ -z "${TAG:-}" ]; then
    commit=$(git rev-parse --short=12 HEAD)
    changes=$( { git diff HEAD --binary; git ls-files -z --others --exclude-standard | xargs -0 -r sha256sum; } | sha256sum | cut -c1-8)
    if [ -n "$(git status --porcelain)" ]; then TAG="$commit-dirty-$changes"; else TAG=$commit; fi
fi
log "tag $TAG"

# --- base images ---------------------------------------------------------------------------
have_or_pull() {
    docker image inspect "$1" >/dev/null 2>&1 || timeout 300 docker pull -q "$1" >/dev/null 2>&1
}
if [ "$BASES" = auto ]; then
    if have_or_pull "${RUST_IMAGE:-rust:1-bookworm}" && have_or_pull "${RUNTIME_IMAGE:-debian:bookworm-slim}" \
        && have_or_pull "${EDGE_BASE_IMAGE:-debian:bookworm-slim}"; then
        BASES=official
    else
        log "official base images cannot be had here: building them from Debian's packages"
        BASES=local
    fi
fi
case $BASES in
    local) eval "$(bash deploy/images/build-bases.sh)" ;;
    official) ;;
    *) die "BASES must be auto, official or local" ;;
esac
RUST_IMAGE=${RUST_IMAGE:-rust:1-bookworm}
RUNTIME_IMAGE=${RUNTIME_IMAGE:-debian:bookworm-slim}
EDGE_BASE_IMAGE=${EDGE_BASE_IMAGE:-debian:bookworm-slim}
log "bases: rust $RUST_IMAGE, runtime $RUNTIME_IMAGE, edge $EDGE_BASE_IMAGE"

# --- the build context -----------------------------------------------------------------------
# The repository's files as git sees them (tracked and untracked, minus what .gitignore
# excludes: target/, web/vendor/, secrets), plus the vendored crates as .cargo-vendor/.
ctx_dir=$root/target/docker
vendor_dir=$ctx_dir/vendor
mkdir -p "$ctx_dir"
if [ "$VENDOR" = 1 ]; then
    lock_sum=$(sha256sum Cargo.lock | cut -d' ' -f1)
    if [ "$(cat "$vendor_dir/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
        log "vendoring the crates of Cargo.lock into $vendor_dir"
        rm -rf "$vendor_dir"
        cargo vendor --locked --versioned-dirs --quiet "$vendor_dir" >/dev/null
        echo "$lock_sum" > "$vendor_dir/.lock-sha256"
    fi
fi
context=$ctx_dir/context.tar
files=$ctx_dir/files.txt
git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done > "$files"
tar_opts=(--owner=0 --group=0 --numeric-owner --sort=name)
tar -cf "$context" "${tar_opts[@]}" --null -T "$files"
if [ "$VENDOR" = 1 ]; then
    tar -rf "$context" "${tar_opts[@]}" -C "$vendor_dir" --exclude=.lock-sha256 \
        --transform 's,^\.,.cargo-vendor,S' .
fi
edge_context=$ctx_dir/edge-context.tar
tar -cf "$edge_context" "${tar_opts[@]}" deploy/docker/Dockerfile deploy/docker/edge
log "build context $(du -h "$context" | cut -f1) ($(tr -cd '\0' < "$files" | wc -c) files + vendored crates)"

# --- the images -------------------------------------------------------------------------------
revision=$(git rev-parse HEAD)
common=(
    --label "org.opencontainers.image.revision=$revision"
    --label "org.opencontainers.image.version=$TAG"
    --label "org.opencontainers.image.source=code-platform"
)
for service in "${services[@]}"; do
    image="$IMAGE_PREFIX/$service:$TAG"
    started=$SECONDS
    if [ "$service" = flyway ]; then
        if ! have_or_pull "$FLYWAY_IMAGE"; then
            log "skipping flyway: $FLYWAY_IMAGE cannot be had here (the stack runs the migrate image instead)"
            continue
        fi
        log "building $image from deploy/flyway/Dockerfile"
        docker build -q -f deploy/flyway/Dockerfile --build-arg "FLYWAY_IMAGE=$FLYWAY_IMAGE" \
            "${common[@]}" -t "$image" - < "$context" >&2
    else
        # The edge needs only its configuration: a small context instead of the crates.
        ctx=$context
        [ "$service" = edge ] && ctx=$edge_context
        log "building $image (target $service)"
        docker build -f deploy/docker/Dockerfile --target "$service" \
            --build-arg "RUST_IMAGE=$RUST_IMAGE" \
            --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
            --build-arg "EDGE_BASE_IMAGE=$EDGE_BASE_IMAGE" \
            "${common[@]}" --label "org.opencontainers.image.title=code-platform $service" \
            -t "$image" - < "$ctx" >&2
    fi
    log "built $image in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
    if [ "${PUSH:-0}" = 1 ]; then
        docker push "$image" >&2
    fi
done
rm -f "$context" "$edge_context" "$files"

echo "export TAG=$TAG"
echo "export IMAGE_PREFIX=$IMAGE_PREFIX"
