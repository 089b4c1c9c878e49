"""`make demo` installs what its pages need on a fresh machine: the Chinese font of the bulletin's
PDF (fonts-wqy-microhei; without it a PDF answers 503), before it seeds and serves, and never
Chromium, which only the browser tests need. apt-get, sudo and the fengqiao command are stubs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "demo_deps.sh"
BASH = shutil.which("bash") or "/bin/bash"

# Each stub writes its name and arguments to $STUB_LOG; apt-get "installs" the font by creating
# the file $FONT_AFTER_INSTALL names.
STUBS = {
    "fengqiao": 'echo "fengqiao $1" >> "$STUB_LOG"\n',
    "deps": 'echo "demo_deps" >> "$STUB_LOG"\n',
    "apt-get": 'echo "apt-get $*" >> "$STUB_LOG"\n'
    'case " $* " in *" install "*) [ -n "$FONT_AFTER_INSTALL" ] && : > "$FONT_AFTER_INSTALL";; esac\n',
    "sudo": 'while [ "${1#-}" != "$1" ]; do shift; done\nexec "$@"\n',
    "dpkg-query": "exit 1\n",
    "ffmpeg": "exit 0\n",  # present: the demo cameras' test pattern can be rendered
}


def stub_bin(folder: Path, *names: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\n" + STUBS[name])
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    # The script's own tools, and nothing else of the machine's (no real apt-get).
    for tool in ("dirname", "sh"):
        found = shutil.which(tool)
        if found and not (folder / tool).exists():
            (folder / tool).symlink_to(found)
    return folder


def run_script(
    tmp_path: Path, font: Path, *stubs: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    log = tmp_path / "calls.log"
    log.touch()
    env = {
        "PATH": str(stub_bin(tmp_path / "bin", *stubs)),
        "STUB_LOG": str(log),
        "FENGQIAO_BULLETIN_FONT": str(font),
        "FONT_AFTER_INSTALL": str(font),
    }
    done = subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return done, log.read_text()


def test_a_missing_font_is_installed_without_chromium(tmp_path: Path) -> None:
    font = tmp_path / "wqy-microhei.ttc"
    done, calls = run_script(tmp_path, font, "apt-get", "sudo", "dpkg-query", "ffmpeg")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "apt-get -q -y -o DPkg::Lock::Timeout=300 update" in calls
    installs = [line for line in calls.splitlines() if " install " in line]
    assert installs == ["apt-get -q -y -o DPkg::Lock::Timeout=300 install fonts-wqy-microhei"]
    assert "chromium" not in calls
    assert "fonts-wqy-microhei installed" in done.stdout
    assert font.exists()


def test_a_present_font_needs_nothing_and_says_nothing(tmp_path: Path) -> None:
    font = tmp_path / "wqy-microhei.ttc"
    font.write_bytes(b"font")
    done, calls = run_script(tmp_path, font, "apt-get", "sudo", "dpkg-query", "ffmpeg")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert calls == ""


def test_a_missing_ffmpeg_is_asked_for_and_said_when_it_did_not_come(tmp_path: Path) -> None:
    """The demo's cameras play a test pattern ffmpeg renders: asked for with the font; an
    install that brought no ffmpeg is said, and the demo runs on."""
    font = tmp_path / "wqy-microhei.ttc"
    done, calls = run_script(tmp_path, font, "apt-get", "sudo", "dpkg-query")
    assert done.returncode == 0, done.stderr
    installs = [line for line in calls.splitlines() if " install " in line]
    assert installs == [
        "apt-get -q -y -o DPkg::Lock::Timeout=300 install fonts-wqy-microhei ffmpeg"
    ]
    assert "fonts-wqy-microhei installed" in done.stdout
    assert "no ffmpeg: the demo runs, but its cameras have no stream to play" in done.stderr


def test_without_apt_get_the_demo_runs_on_and_says_what_is_missing(tmp_path: Path) -> None:
    done, _ = run_script(tmp_path, tmp_path / "absent.ttc", "sudo", "dpkg-query")
    assert done.returncode == 0, done.stderr
    assert "apt-get not found" in done.stderr
    assert "a bulletin's PDF answers 503 until fonts-wqy-microhei is installed" in done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_demo_installs_the_font_before_it_seeds_and_serves(tmp_path: Path) -> None:
    stubs = stub_bin(tmp_path / "bin", "fengqiao", "deps")
    log = tmp_path / "calls.log"
    work = tmp_path / "work"  # the demo's var/ lands here, not in the checkout
    work.mkdir()
    done = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "-o", "install", "demo", f"BIN={stubs}",
         f"DEMO_DEPS=sh {stubs / 'deps'}"],
        cwd=work, env={**os.environ, "STUB_LOG": str(log)}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "demo_deps", calls
    assert "fengqiao seed" in calls and "fengqiao serve" in calls
    # The Makefile's own default runs the script of the checkout, wherever make is started.
    # (`make test` runs this test inside make: without the outer make's variables, the inner one
    # prints no "Entering directory" lines around the value.)
    quiet = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    shown = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"),
         "--eval", "show: ; @echo $(DEMO_DEPS)", "show"],
        cwd=work, env=quiet, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.stdout.strip() == f"bash {ROOT}/scripts/demo_deps.sh"
