"""No script of ours feeds an HTML sink a string that did not pass the escape helper.

Reads every script in web/static (not vendor) with a small JavaScript tokenizer and checks each
sink: `innerHTML`/`outerHTML` assignments, `insertAdjacentHTML`, `document.write`, Leaflet's
`bindTooltip`/`bindPopup`/`setContent`/`setTooltipContent`/`setPopupContent`, a `divIcon`'s
`html` and a layer's `attribution` (both HTML to Leaflet), and ECharts `formatter`s outside the
canvas-drawn labels (ECharts puts a tooltip's string into innerHTML). A sink may take a string
literal (our own markup), `esc(...)`, numbers, a DOM node (`h(...)`, `document.createElement`,
`FQ.chartTip`), or a function, constant or local helper whose every answer is one of those.
Links a person may have typed must pass `safeUrl`. A second check keeps the HTML parsers
(`DOMParser`, `createContextualFragment`, `eval`, `new Function`, `srcdoc`) out entirely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fengqiao.web import STATIC_DIR

# Our scripts, with those in subfolders (admin/); vendor/ holds the libraries we do not write.
SCRIPTS = sorted(
    p for p in STATIC_DIR.rglob("*.js") if "vendor" not in p.relative_to(STATIC_DIR).parts
)
NAMES = [p.relative_to(STATIC_DIR).as_posix() for p in SCRIPTS]

PUNCT = ("...", "===", "!==", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "+=", "-=")
REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {"=>", "==", "===", "!=", "!==", "&&", "||", "??"}
REGEX_AFTER_WORDS = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void"}


@dataclass
class Token:
    kind: str  # ident, num, str, tmpl, regex, punct
    text: str
    line: int
    newline_before: bool = False
    parts: list[str] = field(default_factory=list)  # a template literal's ${...} sources


def tokenize(source: str) -> list[Token]:
    """JavaScript tokens, without comments: enough to find sinks and read their arguments."""
    tokens: list[Token] = []
    i, line, newline = 0, 1, False
    n = len(source)
    while i < n:
        c = source[i]
        if c == "\n":
            line, newline, i = line + 1, True, i + 1
            continue
        if c.isspace():
            i += 1
            continue
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
            continue
        if source.startswith("/*", i):
            end = source.index("*/", i) + 2
            line += source.count("\n", i, end)
            i = end
            continue
        start = i
        if c in "'\"":
            i += 1
            while source[i] != c:
                i += 2 if source[i] == "\\" else 1
            i += 1
            tokens.append(Token("str", source[start:i], line, newline))
        elif c == "`":
            i += 1
            parts = []
            while source[i] != "`":
                if source[i] == "\\":
                    i += 2
                elif source.startswith("${", i):
                    depth, j = 1, i + 2
                    while depth:
                        depth += {"{": 1, "}": -1}.get(source[j], 0)
                        j += 1
                    parts.append(source[i + 2 : j - 1])
                    i = j
                else:
                    i += 1
            i += 1
            tokens.append(Token("tmpl", source[start:i], line, newline, parts))
            line += source.count("\n", start, i)
        elif c == "/" and (
            not tokens
            or (tokens[-1].kind == "punct" and tokens[-1].text in REGEX_BEFORE)
            or (tokens[-1].kind == "ident" and tokens[-1].text in REGEX_AFTER_WORDS)
        ):
            i += 1
            in_class = False
            while in_class or source[i] != "/":
                if source[i] == "\\":
                    i += 1
                elif source[i] == "[":
                    in_class = True
                elif source[i] == "]":
                    in_class = False
                i += 1
            i += 1
            while i < n and source[i].isalpha():
                i += 1
            tokens.append(Token("regex", source[start:i], line, newline))
        elif c.isalpha() or c in "_$":
            while i < n and (source[i].isalnum() or source[i] in "_$"):
                i += 1
            tokens.append(Token("ident", source[start:i], line, newline))
        elif c.isdigit():
            while i < n and (source[i].isalnum() or source[i] == "."):
                i += 1
            tokens.append(Token("num", source[start:i], line, newline))
        else:
            text = next((p for p in PUNCT if source.startswith(p, i)), c)
            i += len(text)
            tokens.append(Token("punct", text, line, newline))
        newline = False
    return tokens


OPEN, CLOSE = "([{", ")]}"


def until(
    tokens: list[Token], start: int, stops: set[str], *, stop_at_newline: bool = False
) -> int:
    """The index of the first stop token at depth 0 from start (or an unmatched closer)."""
    depth = 0
    continues = {"+", "?", ":", ".", "||", "&&", "??", "?.", "=>", ","}
    for k in range(start, len(tokens)):
        t = tokens[k]
        if (
            stop_at_newline and depth == 0 and k > start and t.newline_before
            and t.text not in continues and tokens[k - 1].text not in continues
        ):  # fmt: skip
            return k
        if t.kind == "punct" and t.text in OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in CLOSE:
            if depth == 0:
                return k
            depth -= 1
        elif depth == 0 and t.kind == "punct" and t.text in stops:
            return k
    return len(tokens)


def split(tokens: list[Token], seps: set[str]) -> list[list[Token]]:
    """Split on depth-0 punctuators."""
    out: list[list[Token]] = []
    depth = 0
    current: list[Token] = []
    for t in tokens:
        if t.kind == "punct" and t.text in OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in CLOSE:
            depth -= 1
        if depth == 0 and t.kind == "punct" and t.text in seps:
            out.append(current)
            current = []
        else:
            current.append(t)
    out.append(current)
    return out


def matching(tokens: list[Token], k: int) -> int:
    """The index of the bracket closing tokens[k]."""
    return until(tokens, k + 1, set())


# Calls whose answer is text without markup (numbers, times) or escaped text.
TEXT_CALLS = {"esc", "FQ.esc", "number", "FQ.number", "time", "short", "FQ.time", "FQ.short",
              "Math.round", "Math.max", "Math.min", "Number", "parseInt", "String"}  # fmt: skip
# Calls whose answer is a DOM node (strings inside become text nodes).
NODE_CALLS = {"h", "FQ.h", "document.createElement", "document.createTextNode", "chartTip",
              "FQ.chartTip", "FQ.cameraItem", "FQ.cameraBadge", "FQ.lightBadge",
              "FQ.statusBadge"}  # fmt: skip
# Where ECharts draws a formatter's answer on the canvas, as text: no HTML sink.
CANVAS_KEYS = {"label", "axisLabel", "endLabel", "edgeLabel", "detail", "pageFormatter"}
# Server-built links (attachment, bulletin and tel: addresses the API writes itself).
# `path`: the page a message is about, written by the server (notify's inbox rows).
SERVER_LINKS = {"url", "html", "pdf", "xlsx", "tel", "path"}


class Checker:
    """Decides, for one script, whether an expression is safe to hand an HTML sink."""

    def __init__(self, tokens: list[Token], helpers: dict[str, list[Token]]) -> None:
        self.tokens = tokens
        self.defs = dict(helpers)
        self.defs.update(definitions(tokens))

    def safe(self, expr: list[Token], depth: int = 0) -> bool:
        expr = strip(expr)
        if not expr or depth > 6:
            return False
        texts = [t.text for t in expr]
        # A function: every answer it gives.
        arrow = next((k for k, t in enumerate(expr) if t.text == "=>"), None)
        if arrow is not None and (
            (arrow == 1 and expr[0].kind == "ident")
            or (expr[0].text == "(" and matching(expr, 0) == arrow - 1)
        ):
            body = expr[arrow + 1 :]
            if body and body[0].text == "{":
                return self.returns_safe(body, depth)
            return self.safe(body, depth + 1)
        if texts[0] == "function":
            brace = texts.index("{")
            return self.returns_safe(expr[brace:], depth)
        # Alternatives: each must be safe (the condition of a ?: is not shown).
        for ops in ({"||", "??"},):
            parts = split(expr, ops)
            if len(parts) > 1:
                return all(self.safe(p, depth + 1) for p in parts)
        question = next(
            (k for k, t in enumerate(expr) if t.text == "?" and depth_at(expr, k) == 0), None
        )
        if question is not None:
            colon = until(expr, question + 1, {":"})
            return self.safe(expr[question + 1 : colon], depth + 1) and self.safe(
                expr[colon + 1 :], depth + 1
            )
        ands = split(expr, {"&&"})
        if len(ands) > 1:
            return self.safe(ands[-1], depth + 1)
        terms = split(expr, {"+"})
        if len(terms) > 1:
            return all(self.text_safe(t, depth + 1) for t in terms)
        return self.node_safe(expr, depth) or self.text_safe(expr, depth)

    def returns_safe(self, block: list[Token], depth: int) -> bool:
        answers = []
        for k, t in enumerate(block):
            if t.text == "return":
                end = until(block, k + 1, {";"}, stop_at_newline=True)
                answers.append(block[k + 1 : end])
        return bool(answers) and all(self.safe(a, depth + 1) for a in answers)

    def node_safe(self, expr: list[Token], depth: int) -> bool:
        if expr[0].text == "[" and matching(expr, 0) == len(expr) - 1:
            return all(self.safe(p, depth + 1) for p in split(expr[1:-1], {","}) if p)
        callee, _ = call(expr)
        if callee in NODE_CALLS:
            return True
        return self.resolves(callee or joined(expr), depth)

    def resolves(self, name: str | None, depth: int) -> bool:
        """A local function or constant whose every answer is safe."""
        name = (name or "").removeprefix("FQ.")
        body = self.defs.get(name)
        return body is not None and self.safe(body, depth + 1)

    def text_safe(self, expr: list[Token], depth: int) -> bool:
        expr = strip(expr)
        if not expr:
            return False
        if len(expr) == 1 and expr[0].kind in ("str", "num"):
            return True
        if len(expr) == 1 and expr[0].kind == "tmpl":
            return all(self.text_safe(tokenize(p), depth + 1) for p in expr[0].parts)
        callee, _ = call(expr)
        if callee in TEXT_CALLS:
            return True
        texts = [t.text for t in expr]
        if texts[-1] == "length" and texts[-2] == ".":
            return True  # a count
        if callee and callee.endswith(".toFixed"):
            return True
        if len(split(expr, {"?"})) > 1 or len(split(expr, {"||", "??"})) > 1:
            return self.safe(expr, depth + 1)
        return self.resolves(callee or joined(expr), depth) and not self.node_safe(expr, depth)


def strip(expr: list[Token]) -> list[Token]:
    while len(expr) > 2 and expr[0].text == "(" and matching(expr, 0) == len(expr) - 1:
        expr = expr[1:-1]
    return expr


def depth_at(expr: list[Token], k: int) -> int:
    depth = 0
    for t in expr[:k]:
        if t.kind == "punct" and t.text in OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in CLOSE:
            depth -= 1
    return depth


def joined(expr: list[Token]) -> str | None:
    """`a.b.c` as a name, or None when the expression is more than a member path."""
    if all(t.kind == "ident" or t.text == "." for t in expr):
        return "".join(t.text for t in expr)
    return None


def call(expr: list[Token]) -> tuple[str | None, list[Token]]:
    """(callee, arguments) when the whole expression is one call `a.b(...)`."""
    for k, t in enumerate(expr):
        if t.text == "(":
            name = joined(expr[:k])
            if name and matching(expr, k) == len(expr) - 1:
                return name, expr[k + 1 : -1]
            return None, []
    return None, []


def definitions(tokens: list[Token]) -> dict[str, list[Token]]:
    """`function name(...) {...}` and `const name = <expr>;` of a script, by name."""
    found: dict[str, list[Token]] = {}
    for k, t in enumerate(tokens[:-2]):
        if t.text == "function" and tokens[k + 1].kind == "ident":
            paren = k + 2
            brace = matching(tokens, paren) + 1
            found[tokens[k + 1].text] = [t, *tokens[paren : matching(tokens, brace) + 1]]
        elif (
            t.text in ("const", "let")
            and tokens[k + 1].kind == "ident"
            and tokens[k + 2].text == "="
        ):
            end = until(tokens, k + 3, {";", ","}, stop_at_newline=True)
            found[tokens[k + 1].text] = tokens[k + 3 : end]
    return found


CALL_SINKS = {"bindTooltip": 0, "bindPopup": 0, "setContent": 0, "setTooltipContent": 0,
              "setPopupContent": 0, "insertAdjacentHTML": 1, "write": 0, "writeln": 0}  # fmt: skip
ASSIGN_SINKS = {"innerHTML", "outerHTML"}
PROPERTY_SINKS = {"formatter", "html", "attribution"}
URL_KEYS = {"href", "src"}
FORBIDDEN = {"DOMParser", "createContextualFragment", "eval", "Function", "srcdoc"}


def enclosing_key(tokens: list[Token], k: int) -> str | None:
    """The key of the object literal that holds tokens[k] (`label` in `label: { formatter }`),
    looking through `Object.assign(`."""
    depth = 0
    for j in range(k - 1, -1, -1):
        t = tokens[j]
        if t.kind == "punct" and t.text in CLOSE:
            depth += 1
        elif t.kind == "punct" and t.text in OPEN:
            if depth:
                depth -= 1
                continue
            if t.text == "(" and j >= 3 and tokens[j - 1].text == "assign":
                depth = 0
                continue
            if t.text == "{" and j >= 2 and tokens[j - 1].text == ":":
                return tokens[j - 2].text
            if t.text == "(":
                continue
            return None
    return None


def findings(path: Path, helpers: dict[str, list[Token]]) -> list[str]:
    tokens = tokenize(path.read_text(encoding="utf-8"))
    checker = Checker(tokens, helpers)
    found = []
    for k, t in enumerate(tokens[:-1]):
        after = tokens[k + 1]
        where = f"{path.name}:{t.line} {t.text}"
        if t.kind != "ident":
            continue
        if t.text in FORBIDDEN:
            found.append(f"{where}: an HTML parser or code from a string")
        elif t.text in CALL_SINKS and after.text == "(" and tokens[k - 1].text in (".", "?."):
            args = split(tokens[k + 2 : matching(tokens, k + 1)], {","})
            index = CALL_SINKS[t.text]
            if t.text.startswith("write") and tokens[k - 2].text != "document":
                continue
            if len(args) <= index or not checker.safe(args[index]):
                found.append(f"{where}: not escaped, not a DOM node")
        elif t.text in ASSIGN_SINKS and after.text in ("=", "+=") and tokens[k - 1].text == ".":
            end = until(tokens, k + 2, {";", ","}, stop_at_newline=True)
            value = tokens[k + 2 : end]
            emptied = len(value) == 1 and value[0].kind == "str" and value[0].text in ('""', "''")
            if not emptied and not checker.safe(value):
                found.append(f"{where}: not escaped, not a DOM node")
        elif t.text in PROPERTY_SINKS and after.text == ":" and tokens[k - 1].text in ("{", ","):
            if t.text == "formatter" and enclosing_key(tokens, k) in CANVAS_KEYS:
                continue
            end = until(tokens, k + 2, {","})
            value = tokens[k + 2 : end]
            if t.text == "formatter" and any(re.search(r"\{[a-z@]", v.text) for v in value
                                              if v.kind in ("str", "tmpl")):  # fmt: skip
                found.append(f"{where}: an ECharts template fills in names as HTML")
            elif not checker.safe(value):
                found.append(f"{where}: not escaped, not a DOM node")
        elif (
            t.text in URL_KEYS
            and after.text in (":", "=")
            and tokens[k - 1].text in ("{", ",", ".")
        ):
            end = until(tokens, k + 2, {",", ";"}, stop_at_newline=True)
            if not url_safe(tokens[k + 2 : end], checker.defs):
                found.append(f"{where}: a link that did not pass safeUrl")
    return found


def url_safe(expr: list[Token], defs: dict[str, list[Token]]) -> bool:
    """A link that cannot be `javascript:`: it starts with our own literal, passes safeUrl,
    is a blob of the user's own file, or is a link the server wrote."""
    expr = strip(expr)
    if not expr:
        return False
    question = next(
        (k for k, t in enumerate(expr) if t.text == "?" and depth_at(expr, k) == 0), None
    )
    if question is not None:
        colon = until(expr, question + 1, {":"})
        return url_safe(expr[question + 1 : colon], defs) and url_safe(expr[colon + 1 :], defs)
    first = split(expr, {"+"})[0]
    if len(first) == 1 and first[0].kind in ("str", "tmpl"):
        literal = first[0].text[1:-1]
        return not literal.lower().startswith(("javascript", "data", "vbscript")) and (
            len(split(expr, {"+"})) == 1 or bool(literal)
        )
    callee, _ = call(first)
    if callee in ("safeUrl", "FQ.safeUrl", "URL.createObjectURL") or (
        callee and callee.endswith((".getDataURL", ".toDataURL"))
    ):
        return True
    name = joined(first)
    if name in defs:  # a local constant: its own start decides
        return url_safe(defs[name], {k: v for k, v in defs.items() if k != name})
    return bool(name) and str(name).split(".")[-1] in SERVER_LINKS and len(str(name).split(".")) > 1


def fq_helpers() -> dict[str, list[Token]]:
    """fq.js's functions, so a script's `FQ.x(...)` resolves to what x answers."""
    return definitions(tokenize((STATIC_DIR / "fq.js").read_text(encoding="utf-8")))


@pytest.mark.parametrize("script", SCRIPTS, ids=NAMES)
def test_no_script_feeds_an_html_sink_an_unescaped_string(script: Path) -> None:
    assert findings(script, fq_helpers()) == []


def test_the_check_catches_what_a_careless_script_would_write(tmp_path: Path) -> None:
    """The check itself: each line here is a stored script waiting to run, and is flagged."""
    bad = tmp_path / "bad.js"
    bad.write_text(
        "\n".join(
            [
                'marker.bindTooltip(c.name + " · " + status);',
                'layer.bindPopup(() => "<b>" + p.name + "</b>");',
                "box.innerHTML = row.note;",
                'box.insertAdjacentHTML("beforeend", `<li>${item.title}</li>`);',
                'chart.setOption({ tooltip: { formatter: (p) => p.data.name + "<br>" } });',
                'chart.setOption({ tooltip: { formatter: "{b}: {c}" } });',
                "L.divIcon({ html: '<span>' + label + '</span>' });",
                "L.tileLayer(url, { attribution: root.dataset.attribution });",
                "function popup(p) { return '<div>' + p.name + '</div>'; }",
                "layer.bindPopup(() => popup(props));",
                'h("a", { href: camera.stream_url }, "视频");',
                "const doc = new DOMParser();",
            ]
        ),
        encoding="utf-8",
    )
    lines = sorted(int(f.split(":")[1].split()[0]) for f in findings(bad, fq_helpers()))
    assert lines == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]
    good = tmp_path / "good.js"
    good.write_text(
        "\n".join(
            [
                'marker.bindTooltip(h("span", {}, c.name + " · " + status));',
                'layer.bindPopup(() => "<b>" + esc(p.name) + "</b>");',
                'box.innerHTML = "";',
                'chart.setOption({ tooltip: { formatter: FQ.chartTip }, label: { formatter: "{b}" } });',
                'L.divIcon({ html: "<span>员</span>" });',
                "function popup(p) { return h('div', {}, p.name); }",
                "layer.bindPopup(() => popup(props));",
                'h("a", { href: FQ.safeUrl(camera.stream_url) }, "视频");',
                'h("a", { href: "/events/" + id }, "详情");',
            ]
        ),
        encoding="utf-8",
    )
    assert findings(good, fq_helpers()) == []


def test_every_script_is_read() -> None:
    """The tokenizer reads every script to its end (a misread regex or string would not)."""
    names = set(NAMES)
    assert {"event.js", "analytics.js", "map.js", "admin/engine.js", "fq.js", "worker.js"} <= names
    assert {"admin/grids.js", "admin/users.js", "admin/holidays.js"} <= names
    for script in SCRIPTS:
        tokens = tokenize(script.read_text(encoding="utf-8"))
        assert tokens[-1].text in (")", ";", "}"), script.name
        balance = sum({"(": 1, ")": -1, "[": 1, "]": -1, "{": 1, "}": -1}.get(t.text, 0)
                      for t in tokens if t.kind == "punct")  # fmt: skip
        assert balance == 0, script.name
    assert not re.search(r"\bvendor\b", " ".join(NAMES))
