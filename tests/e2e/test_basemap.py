"""The base map in Chromium: the demo map's local roads and rivers with their names and the layer
switcher; an administrator sets an XYZ template in 系统管理 · 底图 (a bad one is refused in
Chinese, the page keeps working) and the map offers it, its tiles served by a loopback tile
server and allowed by the CSP; a tile source that fails leaves the local base and says so once.
The browser's GCJ-02 conversion agrees with the published reference values."""

from __future__ import annotations

import io
import math
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from fengqiao.crs import gcj02_to_wgs84, wgs84_to_gcj02
from tests.e2e.conftest import Api, LiveServer, Visit, desk_visit, settle
from tests.e2e.test_admin import open_admin

pytestmark = pytest.mark.e2e


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(text)}$")


def tile_png() -> bytes:
    image = Image.new("RGB", (256, 256), "#dbe9d4")
    ImageDraw.Draw(image).rectangle((0, 0, 255, 255), outline="#9bb58f")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class TileServer:
    """A loopback XYZ tile server: every /tiles/{z}/{x}/{y}.png is one small PNG."""

    def __init__(self) -> None:
        png = tile_png()
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.template = f"http://127.0.0.1:{self.server.server_port}/tiles/{{z}}/{{x}}/{{y}}.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tiles(api: Api) -> Iterator[TileServer]:
    server = TileServer()
    yield server
    server.close()
    # The shared server goes back to the local base for the tests after this one.
    put_basemap(api, {"provider": "local"})


def put_basemap(api: Api, body: dict[str, object]) -> None:
    response = httpx.put(f"{api.base}/basemap", json=body, headers=api.headers("admin"))
    assert response.status_code == 200, response.text


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def open_map(browser: Browser, live_server: LiveServer) -> Visit:
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    visit.page.locator("#map[data-state=ready][data-basemap-state=ready]").wait_for()
    # The switcher is filled once the rest of the layers are in it.
    visit.page.locator(".leaflet-control-layers-overlays label", has_text="道路水系").wait_for()
    return visit


def base_names(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".leaflet-control-layers-base label").all_inner_texts()]


def test_the_demo_map_shows_the_local_roads_with_names(
    browser: Browser, live_server: LiveServer
) -> None:
    visit = open_map(browser, live_server)
    page = visit.page
    assert int(page.locator("#map").get_attribute("data-local-base") or 0) >= 10
    assert page.locator("#map .leaflet-fqBase-pane path").count() >= 10
    assert base_names(page) == ["本地底图"]
    settle(page)
    visit.screenshot("basemap-town")
    # Zoomed in on the town centre: the streets' names show, drawn over the grids.
    for _ in range(3):
        page.locator(".leaflet-control-zoom-in").click()
        page.wait_for_timeout(350)
    names = page.locator("#map .base-label span")
    expect(names.filter(has_text=exactly("笛扬路"))).to_have_count(1)
    for name in ("柯桥大道", "浙东运河", "鉴湖", "万商路"):
        expect(names.filter(has_text=exactly(name))).to_have_count(1)
    # Switched off in the switcher, the roads and their names go.
    page.locator(".leaflet-control-layers-overlays label", has_text="道路水系").locator(
        "input"
    ).uncheck()
    expect(page.locator("#map .leaflet-fqBase-pane path")).to_have_count(0)
    expect(names).to_have_count(0)
    page.locator(".leaflet-control-layers-overlays label", has_text="道路水系").locator(
        "input"
    ).check()
    expect(names.filter(has_text=exactly("笛扬路"))).to_have_count(1)
    # The browser's GCJ-02 shift is the published one (tests/geo/test_crs.py), both ways.
    for lng, lat in ((116.404, 39.915), (121.0917077, 30.6107779), (120.497, 30.088)):
        shifted = page.evaluate("([x, y]) => FQ.basemap.wgsToGcj(x, y)", [lng, lat])
        assert shifted == pytest.approx(list(wgs84_to_gcj02(lng, lat)), abs=1e-9)
        back = page.evaluate("([x, y]) => FQ.basemap.gcjToWgs(x, y)", shifted)
        assert back == pytest.approx(list(gcj02_to_wgs84(*shifted)), abs=1e-9)
        assert back == pytest.approx([lng, lat], abs=1e-8)
    assert page.evaluate("FQ.basemap.wgsToGcj(116.404, 39.915)") == pytest.approx(
        [116.410244499, 39.916404281], abs=1e-8
    )
    settle(page)
    visit.screenshot("basemap-local")
    visit.assert_clean()
    page.context.close()


def test_an_admin_sets_an_xyz_template_and_the_map_offers_it(
    browser: Browser, live_server: LiveServer, api: Api, visit: Visit, tiles: TileServer
) -> None:
    page = open_admin(visit, live_server, "/admin/basemap")
    expect(page.locator("#admin-form-title")).to_have_text("底图设置")
    expect(page.locator("#admin-new")).to_have_count(0)
    page.locator("#f-provider").select_option("xyz")
    expect(page.locator(".field-api_key")).to_be_hidden()
    # Not a template: refused in Chinese on the field, nothing saved, the page still works.
    page.locator("#f-url_template").fill(f"http://127.0.0.1:{closed_port()}/tiles/latest.png")
    page.locator("#admin-save").click()
    error = page.locator("#admin-form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("瓦片地址模板")
    expect(error).to_contain_text("须含 {z}、{x} 和 {y}")
    expect(page.locator("#admin-table tbody tr").first).to_contain_text("仅本地底图")
    page.locator("#f-url_template").fill(tiles.template)
    page.locator("#f-attribution").fill("测试瓦片")
    page.locator("#admin-save").click()
    expect(page.locator(".toast")).to_contain_text("已保存底图：自定义 XYZ")
    expect(page.locator("#admin-table tbody tr").first).to_contain_text("自定义 XYZ")
    expect(page.locator("#admin-table tbody tr").first).to_contain_text("系统管理设置")
    assert all("status of 422" in message for message in visit.errors), visit.errors
    assert visit.foreign_requests == []

    shown = open_map(browser, live_server)
    map_page = shown.page
    assert base_names(map_page) == ["本地底图", "在线底图"]
    checked = map_page.locator(".leaflet-control-layers-base input:checked")
    expect(checked.locator("xpath=..")).to_contain_text("在线底图")
    port = str(tiles.server.server_port)
    loaded = map_page.locator(f"#map img.leaflet-tile-loaded[src*='127.0.0.1:{port}']")
    expect(loaded.first).to_be_visible()
    assert tiles.paths and all(p.startswith("/tiles/") for p in tiles.paths)
    expect(map_page.locator(".leaflet-control-attribution")).to_contain_text("测试瓦片")
    settle(map_page)
    shown.screenshot("basemap-xyz")
    shown.assert_clean()  # the CSP let the tiles in: no console error
    # Back to the local base in the switcher: no tile layer left.
    map_page.locator(".leaflet-control-layers-base label", has_text="本地底图").click()
    expect(loaded).to_have_count(0)
    # A GCJ-02 source's tiles are moved onto WGS-84 by exactly the GCJ-02 offset at each tile.
    for path, dx, dy in gcj_tile_shifts(map_page, tiles.template, 14, 30.09, 120.50):
        z, x, y = (int(part) for part in path.removesuffix(".png").split("/")[-3:])
        corner = tile_corner(x, y, z)
        shifted = pixel(*gcj02_to_wgs84(*corner), z)
        expected = [a - b for a, b in zip(pixel(*corner, z), shifted, strict=True)]
        assert [dx, dy] == pytest.approx(expected, abs=1.01), path
        assert 45 < expected[0] < 65 and 25 < expected[1] < 40  # Keqiao: ~450 m, ~270 m at z14
    map_page.context.close()


def pixel(lng: float, lat: float, z: int) -> tuple[float, float]:
    """Web Mercator pixel of a point at zoom `z` (256-pixel tiles), as Leaflet's EPSG3857."""
    size = 256 * 2**z
    sin = math.sin(math.radians(lat))
    return (lng + 180) / 360 * size, (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * size


def tile_corner(x: int, y: int, z: int) -> tuple[float, float]:
    """(lng, lat) of a tile's north-west corner."""
    n = 2**z
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return x / n * 360 - 180, lat


def gcj_tile_shifts(
    page: Page, template: str, z: int, lat: float, lng: float
) -> list[tuple[str, float, float]]:
    """A map of its own in the page with the same tiles twice, as a plain layer and as
    FQ.basemap.GcjTileLayer: each tile's position in the plain layer minus its position in the
    GCJ-02 one."""
    shifts: list[tuple[str, float, float]] = page.evaluate(
        """async ([template, z, lat, lng]) => {
          const box = document.createElement("div");
          box.style.width = "512px";
          box.style.height = "512px";
          document.body.append(box);
          const map = L.map(box, { zoomControl: false, attributionControl: false, fadeAnimation: false })
            .setView([lat, lng], z);
          const plain = L.tileLayer(template + "?as=plain");
          const gcj = new FQ.basemap.GcjTileLayer(template + "?as=gcj");
          const loaded = (layer) => new Promise((done) => layer.once("load", done));
          const both = Promise.all([loaded(plain), loaded(gcj)]);
          plain.addTo(map);
          gcj.addTo(map);
          await both;
          const at = (layer) => new Map([...layer.getContainer().querySelectorAll("img")]
            .map((img) => [new URL(img.src).pathname, img.getBoundingClientRect()]));
          const plainAt = at(plain);
          const out = [];
          for (const [path, rect] of at(gcj)) {
            const other = plainAt.get(path);
            if (other) out.push([path, other.left - rect.left, other.top - rect.top]);
          }
          map.remove();
          box.remove();
          return out;
        }""",
        [template, z, lat, lng],
    )
    assert len(shifts) >= 4
    return shifts


def test_a_failing_tile_source_leaves_the_local_base_and_says_so_once(
    browser: Browser, live_server: LiveServer, api: Api, tiles: TileServer
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/{{z}}/{{x}}/{{y}}.png"
    put_basemap(api, {"provider": "xyz", "url_template": dead})
    visit = open_map(browser, live_server)
    page = visit.page
    page.locator("#map[data-basemap-failed=true]").wait_for()
    page.locator(".leaflet-control-zoom-in").click()
    page.wait_for_timeout(800)  # more tiles fail
    expect(page.locator(".toast", has_text="在线底图无法加载，已显示本地底图")).to_have_count(1)
    assert page.locator("#map .leaflet-fqBase-pane path").count() >= 10
    expect(page.locator("#map .base-label span").first).to_be_visible()
    assert visit.foreign_requests == []
    page.context.close()


def test_the_event_page_map_shows_the_roads_around_the_event(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    event = api.get("demo_operator", "/events", size=1)["items"][0]
    visit = desk_visit(browser, live_server, "demo_operator", f"/events/{event['id']}")
    page = visit.page
    page.locator("#event-map[data-basemap-state=ready]").wait_for()
    assert page.locator("#event-map .leaflet-fqBase-pane path").count() >= 10
    # Around the event and its grid: the streets and their names.
    expect(page.locator("#event-map .base-label span").first).to_be_attached()
    settle(page)
    page.locator("#event-map").screenshot(path="test-artifacts/basemap-event.png")
    visit.assert_clean()
    page.context.close()
