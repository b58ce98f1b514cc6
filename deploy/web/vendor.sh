#!/usr/bin/env bash
# Puts the web UI's third-party code in place: CodeMirror 5 from Debian's `libjs-codemirror`,
# copied into web/vendor/codemirror/ (git-ignored; never committed). Only what the UI loads is
# copied: the core, its stylesheet, the Python mode and the few addons the editor uses.
# Idempotent: the package is installed only when missing, and files are copied only when they
# differ. Usage: bash deploy/web/vendor.sh [web dir, default: web/ of this checkout]
set -euo pipefail
cd "$(dirname "$0")/../.."

WEB_DIR=${1:-web}
SRC=/usr/share/javascript/codemirror
DEST="$WEB_DIR/vendor/codemirror"

log() { printf '[vendor] %s\n' "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/packages.sh"
need_packages libjs-codemirror

# Relative to $SRC. The package ships both codemirror.js at its root and lib/codemirror.js
# depending on the release; take whichever is there.
FILES=(
    lib/codemirror.js
    lib/codemirror.css
    mode/python/python.js
    addon/edit/matchbrackets.js
    addon/edit/closebrackets.js
    addon/selection/active-line.js
    addon/comment/comment.js
)

copy() {
    local from=$1 to=$2
    mkdir -p "$(dirname "$to")"
    if ! cmp -s "$from" "$to"; then
        # Resolve symlinks into /usr/share/javascript: the copy must stand on its own.
        install -m 0644 "$(readlink -f "$from")" "$to"
    fi
}

for file in "${FILES[@]}"; do
    from="$SRC/$file"
    if [ ! -e "$from" ] && [ -e "$SRC/${file#lib/}" ]; then
        from="$SRC/${file#lib/}"
    fi
    if [ ! -e "$from" ]; then
        log "libjs-codemirror has no $file (looked in $SRC)"
        exit 1
    fi
    copy "$from" "$DEST/$file"
done
log "CodeMirror $(grep -o 'version = "[0-9.]*"' "$DEST/lib/codemirror.js" | head -n 1 | tr -dc '0-9.') in $DEST"
