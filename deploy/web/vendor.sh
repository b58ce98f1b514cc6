#!/usr/bin/env bash
# Puts the web UI's third-party code in place (web/vendor/, git-ignored; never committed):
# - CodeMirror 5 from Debian's `libjs-codemirror` into vendor/codemirror/: the core, its
#   stylesheet, the modes the IDE highlights and the few addons the editors use;
# - Yjs, y-protocols and lib0 from Debian's `node-yjs`, `node-y-protocols` and `node-lib0`
#   (ES modules under /usr/share/nodejs) into vendor/yjs/, vendor/y-protocols/, vendor/lib0/
#   and vendor/isomorphic.js/, which index.html's import map names.
# Idempotent: packages are installed only when missing, and files are copied only when they
# differ. Usage: bash deploy/web/vendor.sh [web dir, default: web/ of this checkout]
set -euo pipefail
cd "$(dirname "$0")/../.."

WEB_DIR=${1:-web}
SRC=/usr/share/javascript/codemirror
DEST="$WEB_DIR/vendor/codemirror"

log() { printf '[vendor] %s\n' "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/../lib/packages.sh"
need_packages libjs-codemirror node-yjs node-y-protocols node-lib0

# Relative to $SRC. The package ships both codemirror.js at its root and lib/codemirror.js
# depending on the release; take whichever is there.
FILES=(
    lib/codemirror.js
    lib/codemirror.css
    mode/python/python.js
    mode/javascript/javascript.js
    mode/clike/clike.js
    mode/css/css.js
    mode/xml/xml.js
    mode/htmlmixed/htmlmixed.js
    mode/markdown/markdown.js
    mode/shell/shell.js
    mode/sql/sql.js
    mode/yaml/yaml.js
    mode/rust/rust.js
    mode/go/go.js
    addon/mode/simple.js
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

# The Yjs side: each module as the browser fetches it (a `.js` name, so that any static server
# sends a JavaScript MIME type). lib0's modules import one another by relative paths; yjs and
# y-protocols import lib0 by bare names, which the import map resolves.
NODE=/usr/share/nodejs
copy "$NODE/yjs/dist/yjs.mjs" "$WEB_DIR/vendor/yjs/yjs.js"
for module in sync awareness auth; do
    copy "$NODE/y-protocols/$module.js" "$WEB_DIR/vendor/y-protocols/$module.js"
done
for from in "$NODE"/lib0/*.js; do
    case $(basename "$from") in
        *.test.js | test.js | testing.js) continue ;;
    esac
    copy "$from" "$WEB_DIR/vendor/lib0/$(basename "$from")"
done
copy "$NODE/isomorphic.js/browser.mjs" "$WEB_DIR/vendor/isomorphic.js/browser.js"
log "Yjs $(node -p "require('$NODE/yjs/package.json').version" 2>/dev/null || echo '?') in $WEB_DIR/vendor/yjs"
