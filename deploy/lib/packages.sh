# Sourced by the setup scripts: `need_packages PKG…` installs from Debian's packages whatever
# of PKG… is not installed yet (without recommends), saying so through the caller's `log`.
# Installed packages are left alone, so running a script again costs nothing.

need_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}
