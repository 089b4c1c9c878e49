"""The TV set-top box's page (/tv) runs in an old WebKit: its scripts are ES5. Each script the page
loads is parsed (esprima) and every node of its syntax tree checked against ES5: no let/const,
arrow functions, classes, template literals, destructuring, spread/rest, default parameters,
for-of, generators, async/await, shorthand or computed properties, modules; and no later
built-ins (fetch, Promise, Map, Set, Object.assign, Array.from, …). The check is shown to fail on
each of those. The browser test (tests/e2e/test_tv.py) runs the page with those built-ins gone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import esprima
import pytest
from fastapi.testclient import TestClient

from fengqiao.web import STATIC_DIR

# Syntax newer than ES5, by the node type esprima gives it.
NOT_ES5_NODES = {
    "ArrowFunctionExpression", "ClassDeclaration", "ClassExpression", "TemplateLiteral",
    "TaggedTemplateExpression", "SpreadElement", "RestElement", "AssignmentPattern",
    "ObjectPattern", "ArrayPattern", "ForOfStatement", "YieldExpression", "AwaitExpression",
    "ImportDeclaration", "ExportNamedDeclaration", "ExportDefaultDeclaration", "MetaProperty",
    "Super", "Import",
}  # fmt: skip
# Built-ins an old WebKit does not have (globals, and methods called by name).
NOT_ES5_GLOBALS = {
    "fetch", "Promise", "Map", "Set", "WeakMap", "WeakSet", "Symbol", "Proxy", "Reflect",
    "URLSearchParams", "IntersectionObserver", "requestIdleCallback", "customElements",
    "AbortController", "TextDecoder", "queueMicrotask", "globalThis",
}  # fmt: skip
NOT_ES5_MEMBERS = {
    "assign", "entries", "values", "includes", "startsWith", "endsWith", "padStart", "padEnd",
    "repeat", "find", "findIndex", "fill", "closest", "append", "prepend", "replaceWith",
    "remove", "toggleAttribute", "flat", "flatMap", "fromEntries", "trimStart", "trimEnd",
    "dataset", "matches",
}  # fmt: skip
# `Array.from`, `Array.of`, `Number.isNaN` …: static methods added after ES5.
NOT_ES5_STATICS = {("Array", "from"), ("Array", "of"), ("Number", "isNaN"),
                   ("Number", "isInteger"), ("Object", "is"), ("String", "raw")}  # fmt: skip


def _nodes(node: Any) -> Iterator[Any]:
    if isinstance(node, list):
        for child in node:
            yield from _nodes(child)
        return
    if not hasattr(node, "type"):
        return
    yield node
    for key, value in vars(node).items():
        if key not in ("type", "range", "loc") and (
            isinstance(value, list) or hasattr(value, "type")
        ):
            yield from _nodes(value)


def es5_problems(source: str) -> list[str]:
    """What in this script is not ES5 (empty: it is)."""
    try:
        tree = esprima.parseScript(source, {"loc": True})
    except esprima.Error as error:
        return [f"does not parse: {error}"]
    problems: list[str] = []
    for node in _nodes(tree):
        line = node.loc.start.line if getattr(node, "loc", None) else 0
        kind = node.type
        if kind in NOT_ES5_NODES:
            problems.append(f"line {line}: {kind}")
        elif kind == "VariableDeclaration" and node.kind != "var":
            problems.append(f"line {line}: {node.kind}")
        elif kind in ("FunctionDeclaration", "FunctionExpression") and (
            node.generator or node.isAsync
        ):
            problems.append(f"line {line}: generator or async function")
        elif kind == "Property" and (node.shorthand or node.computed or node.method):
            problems.append(f"line {line}: shorthand, computed or method property")
        elif kind == "Property" and node.kind in ("get", "set"):
            continue  # ES5 has accessors
        elif kind == "Identifier" and node.name in NOT_ES5_GLOBALS:
            problems.append(f"line {line}: {node.name}")
        elif kind == "MemberExpression" and not node.computed:
            name = node.property.name
            owner = getattr(node.object, "name", None)
            if name in NOT_ES5_MEMBERS or (owner, name) in NOT_ES5_STATICS:
                problems.append(f"line {line}: .{name}")
        elif (
            kind == "Literal"
            and getattr(node, "regex", None)
            and set(node.regex.flags) - set("gim")
        ):
            problems.append(f"line {line}: regular expression flags {node.regex.flags}")
    return problems


def page_scripts(client: TestClient) -> list[str]:
    page = client.get("/tv")
    assert page.status_code == 200
    return re.findall(r'<script src="/static/([^"?]+)', page.text)


def test_the_tv_page_loads_only_its_own_es5_script(client: TestClient) -> None:
    page = client.get("/tv")
    assert page.status_code == 200
    scripts = page_scripts(client)
    assert scripts == ["tv.js"]  # no fq.js, no framework: those are written for new browsers
    for name in scripts:
        problems = es5_problems((STATIC_DIR / name).read_text(encoding="utf-8"))
        assert problems == [], f"{name} is not ES5:\n" + "\n".join(problems)
    text = page.text
    assert "<input" not in text and "<textarea" not in text and "<select" not in text
    assert 'href="/static/tv.css' in text and "<style" not in text and " style=" not in text
    assert "width=1280" in text


@pytest.mark.parametrize(
    "source",
    [
        "var f = function (x) { return x; }; var g = (x) => x;",
        "let a = 1;",
        "const a = 1;",
        "class A {}",
        "var s = `a${1}`;",
        "var o = { a };",
        "var o = { f() { return 1; } };",
        "var o = { ['k' + 1]: 1 };",
        "function f(a = 1) { return a; }",
        "function f(...rest) { return rest; }",
        "var [a, b] = [1, 2];",
        "var { a } = { a: 1 };",
        "for (var x of [1]) {}",
        "function* g() { yield 1; }",
        "async function f() { await 1; }",
        "var xs = [...[1, 2]];",
        "fetch('/x');",
        "new Promise(function () {});",
        "var m = new Map();",
        "var o = Object.assign({}, {});",
        "var xs = Array.from('ab');",
        "'ab'.includes('a');",
        "document.body.closest('div');",
        "node.dataset.id = 1;",
        "var r = /a/u;",
        "import x from 'y';",
    ],
)
def test_the_check_fails_on_what_is_not_es5(source: str) -> None:
    assert es5_problems(source) != [], source


def test_the_check_passes_es5() -> None:
    es5 = """
      (function () {
        "use strict";
        var xhr = new XMLHttpRequest();
        var o = { a: 1, "b": 2, get c() { return 3; } };
        var xs = [1, 2].map(function (x) { return x * 2; }).filter(Boolean);
        for (var k in o) { if (o.hasOwnProperty(k)) xs.push(k); }
        var s = JSON.stringify(Object.keys(o)) + /a+/gi.source;
        document.getElementById("x").setAttribute("data-id", "1");
        try { throw new Error("e"); } catch (e) { s = String(e); }
      })();
    """
    assert es5_problems(es5) == []
