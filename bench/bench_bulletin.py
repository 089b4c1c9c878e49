"""Figures of the daily bulletin (每日通报) on the demo district with events.

    .venv/bin/python bench/bench_bulletin.py [--events 100000] [--runs 5] [--db var/bench-bulletin.db]
                                             [--scale keqiao] [--artifacts test-artifacts] [--smoke]

1. Building a day's content (district totals of the day and month to date, towns and units
   ranked by the month's composite score, the 超期清单, open supervision orders, the day's
   warnings), median of `--runs`.
2. Rendering it as PDF (fpdf2, the CJK font subset embedded), median.
3. The whole PDF of a day as `GET /api/v1/bulletins/{day}.pdf` or `fengqiao bulletin` make it:
   content + PDF, median (target ≤ 5 s).
4. XLSX and 5. HTML rendering, median; sizes of the three files.
6. Issuing a day as the morning job does: the district's and every town's bulletin, each with
   its 文号, and the messages, in one transaction (rolled back), median.

The district (Keqiao scale, `--events` events over the past year, as `make demo` seeds) is built
once into `--db` and reused; the day is yesterday (local). Prints one line per figure and writes
the PDF's first page as test-artifacts/bulletin-page1.png (pdftoppm) to look at. `--smoke`: a
small district (one town, 300 events) in a temporary folder that also takes the PDF, one run
(checks the script runs; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fengqiao.assessment import bulletin, bulletin_export  # noqa: E402
from fengqiao.clock import LOCAL_TZ  # noqa: E402
from fengqiao.config import Settings  # noqa: E402
from fengqiao.db import Database  # noqa: E402

FENGQIAO = str(Path(sys.executable).with_name("fengqiao"))


def build(db_path: Path, events: int, env: dict[str, str], scale: str) -> None:
    if db_path.exists():
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {db_path} ({scale}, {events:,} events) ...", flush=True)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [FENGQIAO, "seed", "--scale", scale, "--events", str(events)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip


def median(function, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-bulletin.db")
    parser.add_argument("--scale", default="keqiao", choices=["keqiao", "small"])
    parser.add_argument("--artifacts", type=Path, default=ROOT / "test-artifacts")
    parser.add_argument(
        "--smoke", action="store_true", help="one town, 300 events, one run: checks it runs"
    )
    args = parser.parse_args()
    if not args.smoke:
        run(args)
        return
    with tempfile.TemporaryDirectory(prefix="fq-bench-bulletin-") as tmp:
        args.db, args.artifacts = Path(tmp) / "bulletin.db", Path(tmp)
        args.scale, args.events, args.runs = "small", 300, 1
        os.environ["FENGQIAO_DATA_DIR"] = tmp  # whatever the app writes, not into var/
        print("# smoke mode: one town, 300 events, one run; the figures below mean nothing")
        run(args)


def run(args: argparse.Namespace) -> None:
    url = f"sqlite:///{args.db.resolve()}"
    env = dict(os.environ, FENGQIAO_DATABASE_URL=url, FENGQIAO_DATA_DIR=str(args.db.parent))
    build(args.db, args.events, env, args.scale)
    subprocess.run([FENGQIAO, "db", "upgrade"], env=env, check=True, capture_output=True)
    settings = Settings(database_url=url, secret_key="bench")
    database = Database(url)
    now = datetime.now(UTC)
    day = now.astimezone(LOCAL_TZ).date() - timedelta(days=1)

    with database.session() as db:

        def content() -> dict:
            return bulletin.build(db, day=day, now=now, settings=settings)

        built_s, doc = median(content, args.runs)
        assert isinstance(doc, dict)
        pdf_s, pdf = median(
            lambda: bulletin_export.render_pdf(doc, font=settings.bulletin_font), args.runs
        )
        whole_s, _ = median(
            lambda: bulletin_export.render_pdf(content(), font=settings.bulletin_font), args.runs
        )
        xlsx_s, xlsx = median(lambda: bulletin_export.render_xlsx(doc), args.runs)
        html_s, html = median(lambda: bulletin_export.render_html(doc), args.runs)

    def issue() -> int:
        with database.session(write=True) as db:
            try:
                bulletin.publish(db, day=day, now=now, settings=settings)
                return len(bulletin.issuing_scopes(db))
            finally:
                db.rollback()

    issue_s, issuers = median(issue, args.runs)
    assert isinstance(pdf, bytes) and isinstance(xlsx, bytes) and isinstance(html, str)
    totals = doc["totals"]
    print(f"district {doc['district']}, day {day}: {totals['day']['new']} new, "
          f"{totals['month']['new']} this month, 超期清单 {doc['overdue']['total']}, "
          f"open orders {doc['orders']['total']}, {len(doc['towns'])} towns, "
          f"{len(doc['units'])} units listed")  # fmt: skip
    print(f"1. content of a day: {built_s * 1000:.0f} ms (median of {args.runs})")
    print(f"2. PDF rendering: {pdf_s * 1000:.0f} ms")
    print(f"3. PDF of a day, content + rendering: {whole_s * 1000:.0f} ms (target <= 5000 ms)")
    print(f"4. XLSX rendering: {xlsx_s * 1000:.0f} ms")
    print(f"5. HTML rendering: {html_s * 1000:.0f} ms")
    print(f"6. issuing a day ({issuers} bulletins, numbered, with messages): "
          f"{issue_s * 1000:.0f} ms")  # fmt: skip
    print(f"sizes: PDF {len(pdf):,} B, XLSX {len(xlsx):,} B, HTML {len(html.encode()):,} B")
    artifacts = args.artifacts
    artifacts.mkdir(exist_ok=True)
    (artifacts / "bulletin-bench.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
             str(artifacts / "bulletin-bench.pdf"), str(artifacts / "bulletin-page1")],
            check=True,
        )  # fmt: skip
        print(f"first page: {artifacts / 'bulletin-page1.png'}")
    database.dispose()


if __name__ == "__main__":
    main()
