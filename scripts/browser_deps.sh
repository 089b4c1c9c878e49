#!/usr/bin/env bash
# Install what the browser (Playwright) tests need from Debian: Chromium at /usr/bin/chromium
# (Playwright drives it instead of downloading a browser of its own) and a CJK font so Chinese
# text renders in screenshots, ffmpeg for the video test stream, PgBouncer and HAProxy for the
# province deployment's tests. Does nothing, silently, when all are present; otherwise runs
# apt-get update and installs only what is missing.
# Needs root (or sudo) and apt-get.
#
#   bash scripts/browser_deps.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/debian.sh"

font_package=fonts-wqy-microhei

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
deb_installed "$font_package" || missing+=("$font_package")
# wrk drives bench/bench_reads.py (and bench_http.py) from Debian.
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# ffmpeg renders the HLS test stream the camera video tests play (scripts/hls_stream.py).
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
# PgBouncer and HAProxy: the province deployment's tests (docs/scaling.md) run the app through
# them. Debian starts neither as a service here; the tests start their own with their own config.
command -v pgbouncer >/dev/null 2>&1 || [[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)

if ((${#missing[@]} == 0)); then
    exit 0
fi

deb_install browser_deps.sh "${missing[@]}" || exit 1

[[ -x /usr/bin/chromium ]] ||
    { echo "browser_deps.sh: error: /usr/bin/chromium still missing after install" >&2; exit 1; }
deb_installed "$font_package" ||
    { echo "browser_deps.sh: error: $font_package still missing after install" >&2; exit 1; }
echo "browser_deps.sh: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) and $font_package installed"
