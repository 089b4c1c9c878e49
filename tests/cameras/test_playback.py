"""Where a camera plays: the gateway template (HLS or WHEP) checked at startup, the URL each
camera gets in the API (or its own HLS playlist), and the page policy naming the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from fengqiao.app import create_app
from fengqiao.config import Settings
from fengqiao.playback import TemplateError, parse_template
from fengqiao.web.headers import content_security_policy
from tests.cameras.conftest import Grids

HLS = "https://gw.example.cn:8443/live/{gb_id}/index.m3u8"
WHEP = "whep+https://gw.example.cn/rtc/{division}/{gb_id}/whep"


def test_a_template_names_its_kind_origin_and_placeholders() -> None:
    hls = parse_template(HLS)
    assert hls is not None and hls.kind == "hls" and hls.origin == "https://gw.example.cn:8443"
    played = hls.render(gb_id="33060300001320000001", camera_id=7)
    assert played.url == "https://gw.example.cn:8443/live/33060300001320000001/index.m3u8"
    whep = parse_template(WHEP)
    assert whep is not None and whep.kind == "whep" and whep.origin == "https://gw.example.cn"
    assert whep.render(gb_id="33060300001320000001", camera_id=7).url == (
        "https://gw.example.cn/rtc/330603/33060300001320000001/whep"
    )
    by_id = parse_template("http://10.0.0.5/hls/cam{id}.m3u8?token=abc")
    assert by_id is not None and by_id.render(gb_id="1" * 20, camera_id=42).url == (
        "http://10.0.0.5/hls/cam42.m3u8?token=abc"
    )
    assert parse_template("  ") is None


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("rtsp://gw/{gb_id}", "无法在浏览器中播放"),
        ("https://gw/live/{gb_id}.flv", "须以 .m3u8 结尾"),
        ("https://gw/live/index.m3u8", "未指明摄像机"),
        ("https://gw/live/{camera}/index.m3u8", "未知占位符 {camera}"),
        ("https://gw/live/{gb_id!r}/index.m3u8", "未知占位符"),
        ("https://gw/live/{gb_id/index.m3u8", "花括号不成对"),
        ("https://{division}.gw/live/{gb_id}/index.m3u8", "主机地址须写明"),
        ("https://user:pw@gw/live/{gb_id}/index.m3u8", "用户名或密码"),
        ("https://gw/live/{gb_id}/index.m3u8 x", "空格"),
        ("https://gw:port/live/{gb_id}/index.m3u8", "端口不是数字"),
        ("whep+rtsp://gw/{gb_id}", "无法在浏览器中播放"),
        ("https://gw/" + "a" * 500 + "{gb_id}.m3u8", "超过 500 个字符"),
    ],
)
def test_a_bad_template_is_refused_with_its_reason(template: str, words: str) -> None:
    with pytest.raises(TemplateError) as refused:
        parse_template(template)
    assert words in refused.value.reason_zh


def test_the_service_does_not_start_with_a_bad_template() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(video_playback_template="rtsp://gw/{gb_id}")
    message = str(refused.value)
    assert "video_playback_template" in message and "无法在浏览器中播放" in message
    with pytest.raises(ValidationError, match="来源地址"):
        Settings(video_extra_origins="https://ok.example, ftp://bad")


def test_the_policy_lets_the_page_play_from_the_gateway_only() -> None:
    def directives(**values: Any) -> dict[str, list[str]]:
        text = content_security_policy(Settings(**values))
        return {p.split()[0]: p.split()[1:] for p in text.split("; ")}

    plain = directives()
    assert plain["media-src"] == ["'self'", "blob:"] and plain["connect-src"] == ["'self'"]
    gateway = directives(video_playback_template=HLS, video_extra_origins="http://10.1.1.1:8080/")
    assert gateway["media-src"] == [
        "'self'", "blob:", "https://gw.example.cn:8443", "http://10.1.1.1:8080",
    ]  # fmt: skip
    assert gateway["connect-src"] == [
        "'self'",
        "https://gw.example.cn:8443",
        "http://10.1.1.1:8080",
    ]
    assert gateway["script-src"] == ["'self'"] and gateway["worker-src"] == ["'self'"]


@pytest.fixture
def gateway_client(bound: Any, seeded: Any) -> Iterator[TestClient]:
    settings = seeded.settings.model_copy(update={"video_playback_template": WHEP})
    with TestClient(create_app(settings, database=bound)) as test_client:
        yield test_client


def test_cameras_carry_their_playback_url(
    gateway_client: TestClient, client: TestClient, auth: Any, grids: Grids
) -> None:
    operator = auth("demo_operator")
    items = gateway_client.get("/api/v1/cameras", params={"size": 3}, headers=operator).json()
    camera = items["items"][0]
    assert camera["protocol"] == "rtsp"  # the source stays; the browser plays the gateway's
    assert camera["playback_kind"] == "whep"
    assert camera["playback_url"] == (
        f"https://gw.example.cn/rtc/{camera['code'][:6]}/{camera['code']}/whep"
    )
    lat, lng = grids.inside(grids.mine)
    near = gateway_client.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng, "limit": 2, "radius_m": 5_000},
        headers=operator,
    ).json()
    assert near and all(n["playback_url"].endswith(f"/{n['code']}/whep") for n in near)
    # Without a template an rtsp:// camera has nowhere to play ...
    one = client.get(f"/api/v1/cameras/{camera['code']}", headers=operator).json()
    assert one["playback_url"] is None and one["playback_kind"] is None
    # ... and a camera's own HLS playlist plays as it is, whatever the template.
    own = "https://hls.example.cn/cam/1.m3u8"
    edited = gateway_client.patch(
        f"/api/v1/cameras/{camera['code']}", json={"stream_url": own}, headers=operator
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["playback_url"] == own and edited.json()["playback_kind"] == "hls"
