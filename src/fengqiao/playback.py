"""Where a browser plays a camera: the district's media gateway URL template, checked once.

`FENGQIAO_VIDEO_PLAYBACK_TEMPLATE` is an HLS playlist URL (`https://gw/live/{gb_id}/index.m3u8`)
or, with the `whep+` prefix, a WebRTC WHEP endpoint (`whep+https://gw/{gb_id}/whep`). Its
placeholders are `{gb_id}` (the camera's 20-digit GB/T 28181 id), `{division}` (the id's first
6 digits, the administrative division) and `{id}` (Fengqiao's own number of the camera). The
host is fixed text, so the Content-Security-Policy can name the gateway's origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from string import Formatter
from urllib.parse import quote, urlsplit

PLACEHOLDERS = ("gb_id", "division", "id")
WHEP_PREFIX = "whep+"
MAX_TEMPLATE = 500
KINDS = ("hls", "whep")


class TemplateError(ValueError):
    """Why a playback template is refused, in English and Chinese."""

    def __init__(self, reason: str, reason_zh: str) -> None:
        super().__init__(f"{reason} ({reason_zh})")
        self.reason = reason
        self.reason_zh = reason_zh


@dataclass(frozen=True)
class Playback:
    """Where one camera plays: `kind` is `hls` or `whep`."""

    url: str
    kind: str


@dataclass(frozen=True)
class PlaybackTemplate:
    """A checked template: `url` is the template without its `whep+` prefix."""

    url: str
    kind: str
    origin: str

    def render(self, *, gb_id: str, camera_id: int) -> Playback:
        """The playback URL of one camera."""
        values = {"gb_id": quote(gb_id, safe=""), "division": quote(gb_id[:6], safe="")}
        return Playback(self.url.format(**values, id=camera_id), self.kind)


def _fields(text: str) -> list[str]:
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise TemplateError(
            "unbalanced braces: placeholders are written {gb_id}, {division} or {id}",
            "花括号不成对：占位符应写作 {gb_id}、{division} 或 {id}",
        ) from None
    fields = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = name or "{}"
            raise TemplateError(
                f"unknown placeholder {{{shown}}}: use {{gb_id}}, {{division}} or {{id}}",
                f"未知占位符 {{{shown}}}：应为 {{gb_id}}、{{division}} 或 {{id}}",
            )
        fields.append(name)
    return fields


def parse_template(text: str) -> PlaybackTemplate | None:
    """The checked template, None when none is set; raises TemplateError when it is bad."""
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_TEMPLATE:
        raise TemplateError(f"longer than {MAX_TEMPLATE} characters", f"超过 {MAX_TEMPLATE} 个字符")
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise TemplateError("contains spaces or control characters", "含有空格或控制字符")
    kind = "whep" if text.lower().startswith(WHEP_PREFIX) else "hls"
    url = text[len(WHEP_PREFIX) :] if kind == "whep" else text
    fields = _fields(url)
    if "gb_id" not in fields and "id" not in fields:
        raise TemplateError(
            "names no camera: put {gb_id} (or {id}) where the gateway expects the stream's name",
            "模板未指明摄像机：请在网关要求的流名称处写入 {gb_id}（或 {id}）",
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TemplateError(
            f"scheme {scheme or 'none'!r} cannot play in a browser: use an http(s):// HLS "
            "playlist (.m3u8) or whep+http(s):// for WebRTC (WHEP); rtsp:// and rtmp:// need "
            "the media gateway to re-publish them",
            f"协议 {scheme or '空'} 无法在浏览器中播放：应为 http(s):// 的 HLS 地址（.m3u8），"
            "或 WebRTC（WHEP）的 whep+http(s):// 地址；rtsp:// 与 rtmp:// 须经媒体网关转为上述格式",
        )
    host = parts.netloc.rpartition("@")[2]
    if not host or "{" in host or "}" in host:
        raise TemplateError(
            "the host must be written out, without placeholders (the page's security policy "
            "names it)",
            "主机地址须写明，不能含占位符（页面安全策略需列出该地址）",
        )
    if "@" in parts.netloc:
        raise TemplateError(
            "carries a user name or password: every staff member who plays a camera sees it",
            "地址中含用户名或密码：能播放视频的工作人员都能看到此地址",
        )
    try:
        port = parts.port
    except ValueError:
        raise TemplateError("the port is not a number", "端口不是数字") from None
    if kind == "hls" and not parts.path.lower().endswith(".m3u8"):
        raise TemplateError(
            "an HLS template's path must end in .m3u8 (for WebRTC write whep+https://...; "
            "HTTP-FLV is not played)",
            "HLS 模板的路径须以 .m3u8 结尾（WebRTC 请写 whep+https://…；不支持 HTTP-FLV）",
        )
    origin = f"{scheme}://{parts.hostname}{f':{port}' if port else ''}"
    return PlaybackTemplate(url=url, kind=kind, origin=origin)


@lru_cache(maxsize=8)
def template_of(text: str) -> PlaybackTemplate | None:
    """`parse_template`, remembered: settings were checked at startup, so this cannot raise
    for a running service's own template."""
    return parse_template(text)


def check_origin(text: str) -> str:
    """One extra origin (`https://host[:port]`) a per-camera HLS address may come from."""
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
        parts = parts._replace(netloc="")
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise TemplateError(
            f"{text!r} is not an origin like https://host:port",
            f"{text} 不是来源地址：应为协议、主机与端口，如 https://gw.example.cn:8443",
        )
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}"
