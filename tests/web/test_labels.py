"""The UI words: one table per vocabulary, served at /api/v1/labels and embedded in the page
shell, and no script keeping a copy of a served vocabulary's words."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import get_args

from fastapi.testclient import TestClient

from fengqiao.crs import CRS_ZH, SUPPORTED_CRS
from fengqiao.events.schemas import PHOTO_KIND_ZH, AttachmentKind
from fengqiao.events.workflow import STATES, STATUS_ZH
from fengqiao.org.models import ORG_KINDS, ORG_LEVEL_ZH, PLATFORM_ZH, PLATFORMS
from fengqiao.outbox.models import OUTBOX_STATUS_ZH, OUTBOX_STATUSES
from fengqiao.scope import ROLE_ZH, ROLES
from fengqiao.supervision.models import ORDER_KIND_ZH, ORDER_KINDS
from fengqiao.taxonomy.models import EVENT_LEVEL_ZH, EVENT_LEVELS
from fengqiao.warnings.models import (
    WARNING_KIND_ZH,
    WARNING_KINDS,
    WARNING_STATUS_ZH,
    WARNING_STATUSES,
)
from fengqiao.web import STATIC_DIR, TEMPLATES_DIR
from fengqiao.web.labels import vocabularies

SHELL_BLOCK = re.compile(r'<script id="fq-labels" type="application/json">(.*?)</script>', re.S)
# A literal map entry in a script: `code: "中文"`, `"code": '中文'` or `["code", "中文"]`.
ENTRY = re.compile(r"""(?:["']([\w-]+)["']|\b([A-Za-z_]\w*))\s*:\s*(["'])([^"'\\\n]*)\3""")
PAIR = re.compile(r"""\[\s*(["'])([\w-]+)\1\s*,\s*(["'])([^"'\\\n]*)\3""")


def copies(text: str) -> list[str]:
    """A script's copies of served vocabularies: lines holding entries of a vocabulary, when the
    script pairs at least two of its codes with their served words (one pair alone, such as a map
    layer called 学校, is a coincidence rather than a copied table)."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        entries += [(number, m[1] or m[2], m[4]) for m in ENTRY.finditer(line)]
        entries += [(number, m[2], m[4]) for m in PAIR.finditer(line)]
    found: dict[tuple[int, str, str], str] = {}  # an entry once, whichever tables serve it
    for name, words in vocabularies().items():
        if not isinstance(words, dict):
            continue
        served = {(str(code), word) for code, word in words.items() if isinstance(word, str)}
        hits = [(n, code, word) for n, code, word in entries if (code, word) in served]
        if len(hits) >= 2:
            for n, code, word in hits:
                found.setdefault((n, code, word), f"{n}: {name}.{code} → {word}")
    return [found[key] for key in sorted(found)]


def test_every_enum_has_a_word_in_its_table() -> None:
    """Each table beside its enum covers the enum: no code reaches a page without a word."""
    for codes, words in (
        (STATES, STATUS_ZH), (ROLES, ROLE_ZH), (ORG_KINDS, ORG_LEVEL_ZH), (PLATFORMS, PLATFORM_ZH),
        (OUTBOX_STATUSES, OUTBOX_STATUS_ZH), (ORDER_KINDS, ORDER_KIND_ZH),
        (EVENT_LEVELS, EVENT_LEVEL_ZH), (WARNING_KINDS, WARNING_KIND_ZH),
        (WARNING_STATUSES, WARNING_STATUS_ZH), (SUPPORTED_CRS, CRS_ZH),
        (get_args(AttachmentKind), PHOTO_KIND_ZH),
    ):  # fmt: skip
        assert set(codes) == set(words), words


def test_the_api_serves_every_vocabulary(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    assert client.get("/api/v1/labels").status_code == 401  # like the rest of the API
    answer = client.get("/api/v1/labels", headers=auth("demo_operator"))
    assert answer.status_code == 200
    served = answer.json()
    assert served == json.loads(json.dumps(vocabularies()))
    assert served["status"]["closed"] == "已结案"
    assert served["levels"]["4"] == "四级（区县级）"
    assert served["orgLevels"]["village"] == "村社"
    assert served["warningKinds"]["cluster"] == "涉稳聚集"
    assert served["rungs"][0] == "责任单位"
    for name, words in served.items():
        assert words, name  # no empty vocabulary


def test_the_page_shell_embeds_the_same_json(client: TestClient) -> None:
    """The public pages (login, 办事指南) carry the words too, in a block no script can break."""
    for path in ("/login", "/services"):
        page = client.get(path)
        assert page.status_code == 200, path
        block = SHELL_BLOCK.search(page.text)
        assert block, path
        assert "</" not in block[1] and "<!--" not in block[1]
        assert json.loads(block[1]) == json.loads(json.dumps(vocabularies()))
        assert '<script src="/static/labels.js' in page.text


def test_the_embedded_json_cannot_close_its_script_block() -> None:
    from fengqiao.web.labels import shell_json

    text = str(shell_json())
    assert "<" not in text
    assert json.loads(text) == json.loads(json.dumps(vocabularies()))


def scripts() -> list[Path]:
    return sorted(
        p for p in STATIC_DIR.rglob("*.js") if "vendor" not in p.relative_to(STATIC_DIR).parts
    )


def test_no_script_copies_a_served_vocabulary() -> None:
    """A script asks FQ.label / FQ.labels for a served word instead of keeping `code: "中文"`."""
    found = {
        name: hits
        for script in scripts()
        if (hits := copies(script.read_text(encoding="utf-8")))
        and (name := script.relative_to(STATIC_DIR).as_posix())
    }
    assert found == {}


def test_the_guard_catches_a_copied_table() -> None:
    bad = "\n".join(
        [
            'const STATUS = { reported: "已上报", closed: "已结案" };',
            "const LIGHTS = { 'red': '红灯',",
            "  'green': '绿灯' };",
            'const KINDS = [["spike", "类案激增"], ["repeat", "同一地点重复"]];',
        ]
    )
    assert [hit.split(":")[0] for hit in copies(bad)] == ["1", "1", "2", "3", "4", "4"]
    good = "\n".join(
        [
            'const STATUS = FQ.labels("status");',
            'h("span", {}, FQ.label("lights", "red"));',
            'const LAYERS = [["school", "学校", "#1a73e8"]];',  # one pair: not a table
        ]
    )
    assert copies(good) == []


OPTION = re.compile(r'<option value="([^"]+)">([^<{]+)</option>')


def test_no_template_types_a_served_word_into_an_option() -> None:
    """A filter's options come from the vocabulary (`options.html`), not typed into the page."""
    served = {
        (code, word)
        for table in vocabularies().values()
        if isinstance(table, dict)
        for code, word in table.items()
        if isinstance(word, str)
    }
    found = {
        template.name: typed
        for template in sorted(TEMPLATES_DIR.glob("*.html"))
        if (typed := [hit for hit in OPTION.findall(template.read_text("utf-8")) if hit in served])
    }
    assert found == {}


def test_the_filters_show_the_served_words(client: TestClient) -> None:
    """The services page (public) renders its level filter from the served vocabulary."""
    page = client.get("/services").text
    for code, word in vocabularies()["serviceLevels"].items():
        assert f'<option value="{code}">{word}</option>' in page


def test_labels_js_is_loaded_after_fq_js_and_before_the_page_scripts(client: TestClient) -> None:
    page = client.get("/services").text
    fq, labels = page.index("/static/fq.js"), page.index("/static/labels.js")
    assert fq < labels < page.index("/static/services.js")
    assert (STATIC_DIR / "labels.js").is_file()
