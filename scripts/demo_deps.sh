#!/usr/bin/env bash
# What `make demo` needs from Debian beyond Python and Node:
# - the Chinese font the daily bulletin's PDF is set in (fonts-wqy-microhei; without it a
#   bulletin's PDF answers 503);
# - ffmpeg, which renders the looping test pattern the demo's stand-in media gateway serves
#   (scripts/hls_stream.py), so the demo's cameras play; without it they say 未配置播放地址.
# Not Chromium: only the browser tests need that (browser_deps.sh). Silent when both are there
# (the font at the file FENGQIAO_BULLETIN_FONT names, by default Debian's); otherwise installs
# what is missing with apt-get (through sudo when not root). When it cannot, it says so and the
# demo runs on without bulletin PDFs or without video.
#
#   bash scripts/demo_deps.sh
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/debian.sh"

package=fonts-wqy-microhei
font=${FENGQIAO_BULLETIN_FONT:-/usr/share/fonts/truetype/wqy/wqy-microhei.ttc}

missing=()
[[ -f "$font" ]] || missing+=("$package")
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
((${#missing[@]} == 0)) && exit 0

deb_install demo_deps.sh "${missing[@]}" || true

if [[ " ${missing[*]} " == *" $package "* ]]; then
    if [[ -f "$font" ]]; then
        echo "demo_deps.sh: $package installed (the Chinese font of the bulletin's PDF)"
    else
        echo "demo_deps.sh: warning: no Chinese font at $font: the demo runs, but a bulletin's PDF" \
            "answers 503 until $package is installed (or FENGQIAO_BULLETIN_FONT names a .ttf/.ttc)" >&2
    fi
fi
if [[ " ${missing[*]} " == *" ffmpeg "* ]]; then
    if command -v ffmpeg >/dev/null 2>&1; then
        echo "demo_deps.sh: ffmpeg installed (the demo cameras' test pattern)"
    else
        echo "demo_deps.sh: warning: no ffmpeg: the demo runs, but its cameras have no stream to" \
            "play until ffmpeg is installed" >&2
    fi
fi
