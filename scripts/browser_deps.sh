#!/usr/bin/env bash
# Install what the browser (Playwright) tests need from Debian: Chromium at /usr/bin/chromium
# (Playwright drives it instead of downloading a browser of its own) and a CJK font so Chinese
# text renders in screenshots. Does nothing, silently, when both are present; otherwise runs
# apt-get update and installs only what is missing. Needs root (or sudo) and apt-get.
#
#   bash scripts/browser_deps.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

font_package=fonts-wqy-microhei

installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
installed "$font_package" || missing+=("$font_package")
# wrk drives bench/bench_reads.py (and bench_http.py) from Debian.
command -v wrk >/dev/null 2>&1 || missing+=(wrk)

if ((${#missing[@]} == 0)); then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
    { echo "browser_deps.sh: error: apt-get not found; install ${missing[*]} by hand" >&2; exit 1; }

sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 ||
        { echo "browser_deps.sh: error: need root to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
fi

echo "browser_deps.sh: installing ${missing[*]} from Debian"
apt_options=(-q -y -o DPkg::Lock::Timeout=300)
"${sudo[@]}" apt-get "${apt_options[@]}" update >/dev/null
"${sudo[@]}" apt-get "${apt_options[@]}" install "${missing[@]}"

[[ -x /usr/bin/chromium ]] ||
    { echo "browser_deps.sh: error: /usr/bin/chromium still missing after install" >&2; exit 1; }
installed "$font_package" ||
    { echo "browser_deps.sh: error: $font_package still missing after install" >&2; exit 1; }
echo "browser_deps.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) and $font_package installed"
