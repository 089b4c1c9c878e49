"""A looping live HLS test stream on loopback: what a media gateway publishes, for the browser
tests and bench/bench_video.py.

Debian's `ffmpeg` renders `--seconds` of its `testsrc` pattern with a 440 Hz tone into 1-second
H.264 (constrained baseline) + AAC MPEG-TS segments, once, into a temporary folder. A small
HTTP server thread then answers as a gateway would for any stream name:

    GET /live/<gb_id>/index.m3u8   a live playlist: a sliding window of the last 3 segments,
                                   moving on one segment a second and looping over the rendered
                                   ones (with EXT-X-DISCONTINUITY where the loop starts again)
    GET /live/<gb_id>/segNNN.ts    the segments
    /live/<gb_id>/… for a gb_id in `missing`: 404, as a gateway answers for a camera it does not
    have; POST anywhere (a WHEP offer): 404

Every answer carries `Access-Control-Allow-Origin: *`, as the gateways do for hls.js.

    python scripts/hls_stream.py [--seconds 10] [--port N]
        serves until stopped and prints the template (`make demo` runs it on PORT+1 as the demo
        district's stand-in media gateway, so the demo's cameras play)
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"
SEGMENT_SECONDS = 1
WINDOW = 3


def ffmpeg_command(folder: Path, seconds: int) -> list[str]:
    """Render the test pattern into 1-second HLS segments (every second a key frame)."""
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(seconds),
        "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-preset", "veryfast",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
        "-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "rendered.m3u8"),
    ]  # fmt: skip


class HlsStream:
    """The test stream's folder and its loopback server (started at once, segments on demand)."""

    def __init__(self, folder: Path | None = None, port: int = 0) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="fq-hls-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.missing: set[str] = set()
        self.segments = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        stream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the tests read the page, not this log

            def _head(self, status: int, kind: str, length: int) -> None:
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(length))
                self.end_headers()

            def _send(self, status: int, kind: str, body: bytes) -> None:
                try:
                    self._head(status, kind, len(body))
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the player closed (a tile closed mid-segment): nothing to tell

            def do_OPTIONS(self) -> None:
                self._send(204, "text/plain", b"")

            def do_POST(self) -> None:
                self._send(404, "text/plain", b"no such stream")

            def do_GET(self) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) != 3 or parts[0] != "live" or parts[1] in stream.missing:
                    self._send(404, "text/plain", b"no such stream")
                    return
                name = parts[2]
                if name == "index.m3u8" and stream.segments:
                    body = stream.playlist().encode()
                    self._send(200, "application/vnd.apple.mpegurl", body)
                    return
                path = stream.folder / name
                if not name.endswith(".ts") or "/" in name or not path.is_file():
                    self._send(404, "text/plain", b"no such file")
                    return
                self._send(200, "video/mp2t", path.read_bytes())

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def template(self) -> str:
        """The playback template that points every camera at this stream."""
        return f"{self.base_url}/live/{{gb_id}}/index.m3u8"

    def render(self, seconds: int = 10) -> None:
        """Render the segments with ffmpeg, once (later calls return at once)."""
        with self._lock:
            if self.segments:
                return
            if shutil.which("ffmpeg") is None:
                raise RuntimeError(
                    "ffmpeg is missing: run `bash scripts/browser_deps.sh` (Debian's ffmpeg)"
                )
            subprocess.run(ffmpeg_command(self.folder, seconds), check=True, timeout=120)
            self.segments = len(list(self.folder.glob("seg*.ts")))
            self.started = time.monotonic()

    def playlist(self) -> str:
        """The live window now: the newest segment is the one whose second has begun."""
        newest = int((time.monotonic() - self.started) / SEGMENT_SECONDS) + WINDOW - 1
        first = newest - WINDOW + 1
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{first // self.segments}",
        ]
        for sequence in range(first, newest + 1):
            if sequence % self.segments == 0 and sequence != first:
                lines.append("#EXT-X-DISCONTINUITY")  # the loop starts again: timestamps reset
            lines.append(f"#EXTINF:{SEGMENT_SECONDS:.3f},")
            lines.append(f"seg{sequence % self.segments:03d}.ts")
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()
    stream = HlsStream(port=args.port)
    stream.render(args.seconds)
    print(f"FENGQIAO_VIDEO_PLAYBACK_TEMPLATE={stream.template}", flush=True)
    # Stopped by `make demo`'s trap (SIGTERM) as by Ctrl-C: the rendered segments are removed.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stream.close()


if __name__ == "__main__":
    main()
