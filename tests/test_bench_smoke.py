"""Every script in bench/ keeps running: each is found by glob and run with `--smoke` (its
smallest parameters on a tiny district in a temporary folder) and must exit 0 having printed its
figures. The figures themselves are never checked: a benchmark decides no test's pass or fail,
only whether the script still runs.

One test per script, so pytest-xdist spreads them over its workers (`pytest -n 2
tests/test_bench_smoke.py`): each run gets its own temporary folder (TMPDIR), its own free
ports and its own throwaway PostgreSQL database, so any two can run at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "bench").glob("*.py"))
# Each script takes well under 30 s in smoke mode; the margin is for a machine shared with
# other test runs. A script that ignores --smoke and runs at full size stops here.
TIMEOUT_S = 240
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_bench_scripts_are_found() -> None:
    """The glob sees the scripts (a moved folder would otherwise make the smoke test vacuous)."""
    assert {"bench_seed.py", "make_big.py"} <= {script.name for script in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_bench_script_runs_in_smoke_mode(script: Path) -> None:
    if "--smoke" not in script.read_text(encoding="utf-8"):
        pytest.fail(f"{script.name} has no --smoke flag (its smallest parameters)")
    # A short folder of its own, not tmp_path: Chromium's socket path inside it must stay under
    # the 107 bytes a Unix socket's name may take.
    with tempfile.TemporaryDirectory(prefix="fq-smoke-") as tmp:
        _run(script, tmp)


def _run(script: Path, tmp: str) -> None:
    env = dict(os.environ, TMPDIR=tmp, PYTHONUNBUFFERED="1")
    env.setdefault("FENGQIAO_TEST_POSTGRES_URL", POSTGRES_URL)
    # The scripts' servers and CLI runs read these; a developer's own must not leak in.
    for name in ("FENGQIAO_DATABASE_URL", "FENGQIAO_DATA_DIR"):
        env.pop(name, None)
    started = time.monotonic()
    # A session of its own, so a timeout stops the servers the script started as well.
    process = subprocess.Popen(
        [sys.executable, str(script), "--smoke"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop_session(process.pid)
        output, _ = process.communicate()
        pytest.fail(f"{script.name} --smoke still running after {TIMEOUT_S} s:\n{output[-6000:]}")
    _stop_session(process.pid)  # whatever a failed script left running (a server)
    seconds = time.monotonic() - started
    print(f"{script.name} --smoke: {seconds:.1f} s")  # shown with -rP; --durations lists all
    if "unrecognized arguments: --smoke" in output:
        pytest.fail(f"{script.name} has no --smoke flag (its smallest parameters):\n{output}")
    assert process.returncode == 0, (
        f"{script.name} --smoke exited {process.returncode} after {seconds:.0f} s:\n"
        f"{output[-6000:]}"
    )
    assert output.strip(), f"{script.name} --smoke printed no figures"


def _stop_session(session_id: int) -> None:
    """Kill what is left of the session the script ran in (its own process id names it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(session_id, signal.SIGKILL)
