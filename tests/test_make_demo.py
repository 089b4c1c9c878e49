"""`make demo PORT=…`: the server, the worker and the seed are told the address the demo serves
on, so links in its messages (SMS, e-mail, the in-app inbox) point there and not at :8000; and
that it is a demo, so the login page says where the demo accounts are listed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STUB = """#!/bin/sh
echo "$1 ${FENGQIAO_PUBLIC_BASE_URL:-unset} hint=${FENGQIAO_DEMO_LOGIN_HINT:-unset}" >> "$STUB_LOG"
[ "$1" = serve ] && echo "video ${FENGQIAO_VIDEO_PLAYBACK_TEMPLATE:-unset}" >> "$STUB_LOG"
exit 0
"""
# The venv's python, which runs the demo's stand-in media gateway (scripts/hls_stream.py).
PYTHON_STUB = """#!/bin/sh
echo "gateway $(basename "$1") $2 $3" >> "$STUB_LOG"
echo "FENGQIAO_VIDEO_PLAYBACK_TEMPLATE=http://127.0.0.1:$3/live/{gb_id}/index.m3u8"
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
@pytest.mark.parametrize("port", ["8000", "8765"])
def test_the_demo_links_to_the_port_it_serves_on(tmp_path: Path, port: str) -> None:
    stub_bin = tmp_path / "bin"
    stub_bin.mkdir()
    fengqiao = stub_bin / "fengqiao"
    fengqiao.write_text(STUB)
    fengqiao.chmod(fengqiao.stat().st_mode | stat.S_IEXEC)
    python = stub_bin / "python"
    python.write_text(PYTHON_STUB)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    work = tmp_path / "work"  # the demo's var/ lands here, not in the checkout
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FENGQIAO_PUBLIC_BASE_URL", "FENGQIAO_DEMO_LOGIN_HINT")
    }
    done = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "-o", "install", "demo", f"PORT={port}",
         f"BIN={stub_bin}"],
        cwd=work, env={**env, "STUB_LOG": str(log)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    calls = dict(line.split(" ", 1) for line in log.read_text().splitlines())
    # The login page of a demo (and only of a demo) says where the demo accounts are listed.
    assert calls["serve"] == f"http://127.0.0.1:{port} hint=true"
    assert calls["seed"] == f"http://127.0.0.1:{port} hint=true"
    assert f"http://127.0.0.1:{port}" in done.stdout
    # The demo's cameras play from a stand-in gateway on the next port, which the server is told.
    if shutil.which("ffmpeg"):
        video = int(port) + 1
        assert calls["gateway"] == f"hls_stream.py --port {video}"
        assert calls["video"] == f"http://127.0.0.1:{video}/live/{{gb_id}}/index.m3u8"
    else:
        assert calls["video"] == "unset"  # no test pattern to serve: no template either
