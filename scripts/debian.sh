# Installing Debian packages for the scripts that need some (browser_deps.sh, demo_deps.sh):
# sourced by them, not run. apt-get runs through sudo when not root.

export DEBIAN_FRONTEND=noninteractive

# Whether Debian package $1 is installed.
deb_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# deb_install NAME PACKAGE...: apt-get update, then install the packages; NAME starts every line
# it prints. Fails, having said why, when there is no apt-get, no way to root, or the install fails.
deb_install() {
    local name=$1
    shift
    command -v apt-get >/dev/null 2>&1 ||
        { echo "$name: error: apt-get not found; install $* by hand" >&2; return 1; }
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 ||
            { echo "$name: error: need root to install $*" >&2; return 1; }
        sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
    fi
    echo "$name: installing $* from Debian"
    local options=(-q -y -o DPkg::Lock::Timeout=300)
    "${sudo[@]}" apt-get "${options[@]}" update >/dev/null || return 1
    "${sudo[@]}" apt-get "${options[@]}" install "$@" || return 1
}
