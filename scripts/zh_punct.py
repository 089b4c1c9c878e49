"""Full-width punctuation in user-facing Chinese text: find (``--check``) or convert half-width
``, : ; ! ? ( )`` that touch a Chinese character, inside the text of Python string literals,
Jinja templates, JavaScript strings and JSON string values.

Left alone: code (identifiers, syntax, comments), Python docstrings, raw (regex) strings, format
fields (``{value}``, ``${x}``, ``{{ jinja }}``) whose own text is code, English text with a Chinese
gloss ("Fengqiao (枫桥) grid"), the English half after a " / " separator, URLs, times (08:30) and
numbers (1,000), which never touch a Chinese character.

    python scripts/zh_punct.py --check src          # list what would change, exit 1 if any
    python scripts/zh_punct.py src tests            # convert in place
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}
# Chinese characters, and the CJK and full-width punctuation that sits between them.
ZH_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e"
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ZH = re.compile(f"[{ZH_CHARS}]")
# A masked span (format field, template expression) stands in the text as one private-use char,
# which is neither Chinese nor punctuation.
MASK = "\ue000"
# English prose: two English words in a row ("grid governance", "the database is").
# English prose: two English words in a row ("grid governance", "the database is"), or one
# capitalised word glossed in Chinese ("Forbidden (无权操作)").
ENGLISH = re.compile(r"\b[A-Za-z]{2,} +[A-Za-z]{2,}\b|^[A-Z][a-z]+ \(")
SEPARATOR = " / "
SUFFIXES = (".py", ".html", ".js", ".json")


@dataclass(frozen=True)
class Finding:
    """One text that has half-width punctuation touching a Chinese character."""

    path: Path
    line: int
    before: str
    after: str


def _is_zh(char: str) -> bool:
    return bool(ZH.match(char))


def convert_plain(text: str) -> str:
    """Convert the punctuation of one run of text (masked spans already replaced by MASK)."""
    chars = list(text)
    # Parentheses: a matched pair turns full-width when it holds Chinese or touches it;
    # a lone one (the pair is split across literals) when it touches Chinese.
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    lone: list[int] = []
    for index, char in enumerate(chars):
        if char == "(":
            stack.append(index)
        elif char == ")":
            if stack:
                pairs.append((stack.pop(), index))
            else:
                lone.append(index)
    lone.extend(stack)

    def touches(index: int) -> bool:
        before = chars[index - 1] if index > 0 else ""
        after = chars[index + 1] if index + 1 < len(chars) else ""
        return _is_zh(before) or _is_zh(after)

    for opening, closing in pairs:
        inside = "".join(chars[opening + 1 : closing])
        if CJK.search(inside) or touches(opening) or touches(closing):
            chars[opening], chars[closing] = "（", "）"
    for index in lone:
        if touches(index):
            chars[index] = HALF_TO_FULL[chars[index]]
    converted: set[int] = set()
    for index, char in enumerate(chars):
        if char in ",:;!?" and touches(index):
            chars[index] = HALF_TO_FULL[char]
            converted.add(index)
    # Full-width punctuation carries its own spacing: drop the blanks beside what was converted.
    out = []
    for index, char in enumerate(chars):
        if char == " " and ((index - 1) in converted or (index + 1) in converted):
            continue
        out.append(char)
    return "".join(out)


def convert_masked(text: str, spans: list[tuple[int, int]], *, english_aware: bool) -> str:
    """Convert ``text`` leaving ``spans`` (code inside it) untouched."""
    if not ZH.search(text):
        return text
    pieces: list[str] = []
    kept: list[str] = []
    last = 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(MASK)
        kept.append(text[start:end])
        last = end
    pieces.append(text[last:])
    masked = "".join(pieces)
    if MASK in text:  # a private-use char in the source: leave such a text alone
        return text
    if english_aware:
        segments = masked.split(SEPARATOR)
        masked = SEPARATOR.join(
            segment if ENGLISH.search(segment.replace(MASK, "x")) else convert_plain(segment)
            for segment in segments
        )
    else:
        masked = convert_plain(masked)
    restored = iter(kept)
    return "".join(next(restored) if char == MASK else char for char in masked)


# ----------------------------------------------------------------------------- Python


def _fstring_fields(body: str) -> list[tuple[int, int]]:
    """Spans of the replacement fields of an f-string's body (``{{`` is a literal brace)."""
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "{" and body.startswith("{{", index):
            index += 2
            continue
        if char == "}" and body.startswith("}}", index):
            index += 2
            continue
        if char == "{":
            start, depth, quote = index, 0, ""
            while index < len(body):
                current = body[index]
                if quote:
                    if current == quote:
                        quote = ""
                elif current in "'\"":
                    quote = current
                elif current in "{[(":
                    depth += 1
                elif current in "}])":
                    depth -= 1
                    if depth == 0:
                        break
                index += 1
            spans.append((start, index + 1))
        index += 1
    return spans


FORMAT_FIELD = re.compile(r"\{[A-Za-z0-9_.\[\]]*(?:![rsa])?(?::[^{}]*)?\}")


def _convert_python_literal(token: str) -> str:
    match = re.match(r"(?i)([rbuf]*)('''|\"\"\"|'|\")", token)
    if match is None:
        return token
    prefix, quote = match.group(1).lower(), match.group(2)
    if "b" in prefix or "r" in prefix:
        return token
    head = len(match.group(0))
    body = token[head : len(token) - len(quote)]
    if "f" in prefix:
        spans = _fstring_fields(body)
    else:
        spans = [m.span() for m in FORMAT_FIELD.finditer(body)]
    new_body = convert_masked(body, spans, english_aware=True)
    return token[:head] + new_body + quote


def _python_strings(source: str) -> Iterator[list[tuple[int, int, str]]]:
    """Runs of adjacent string literals (one implicitly concatenated text) as (start offset,
    end offset, token), leaving out docstrings and the API and CLI documentation passed as
    ``description=``, ``summary=`` or ``help=`` (English for developers and operators)."""
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        return line_starts[position[0] - 1] + position[1]

    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    skip = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
    logical: list[tokenize.TokenInfo] = []
    for token in tokens:
        if token.type in skip:
            continue
        if token.type not in (tokenize.NEWLINE, tokenize.ENDMARKER):
            logical.append(token)
            continue
        # A statement made only of strings is a docstring (or an inert expression).
        if logical and any(t.type != tokenize.STRING for t in logical):
            index = 0
            while index < len(logical):
                if logical[index].type != tokenize.STRING:
                    index += 1
                    continue
                run_end = index
                while run_end < len(logical) and logical[run_end].type == tokenize.STRING:
                    run_end += 1
                keyword = logical[index - 2].string if index >= 2 else ""
                is_doc = logical[index - 1].string == "=" and keyword in DOC_KEYWORDS
                if not is_doc:
                    yield [
                        (offset(t.start), offset(t.end), t.string) for t in logical[index:run_end]
                    ]
                index = run_end
        logical = []


DOC_KEYWORDS = {"description", "summary", "help"}


def _literal_text(token: str) -> str:
    """A literal's text with its format fields reduced to one letter (their code is no prose)."""
    match = re.match(r"(?i)([rbuf]*)('\'\'|\"\"\"|'|\")", token)
    if match is None:
        return token
    body = token[len(match.group(0)) : len(token) - len(match.group(2))]
    if "f" in match.group(1).lower():
        spans = _fstring_fields(body)
    else:
        spans = [m.span() for m in FORMAT_FIELD.finditer(body)]
    for start, end in reversed(spans):
        body = body[:start] + "x" + body[end:]
    return body


def convert_python(source: str) -> str:
    """Convert the string literals of a Python module."""
    edits = []
    for run in _python_strings(source):
        joined = "".join(_literal_text(token) for _, _, token in run)
        segments = [seg for seg in joined.split(SEPARATOR) if CJK.search(seg)]
        if segments and all(ENGLISH.search(seg) for seg in segments):
            continue
        for start, end, token in run:
            new = _convert_python_literal(token)
            if new != token:
                edits.append((start, end, new))
    for start, end, new in reversed(edits):
        source = source[:start] + new + source[end:]
    return source


# ----------------------------------------------------------------------------- JavaScript

REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}


def _js_strings(source: str) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """(start, end, masked spans) of the text of each JS string and template literal."""
    index, length = 0, len(source)
    last_significant = ""
    while index < length:
        char = source[index]
        if source.startswith("//", index):
            index = source.find("\n", index)
            index = length if index < 0 else index
            continue
        if source.startswith("/*", index):
            end = source.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        if char == "/" and last_significant in REGEX_BEFORE:
            index += 1
            in_class = False
            while index < length and source[index] != "\n":
                current = source[index]
                if current == "\\":
                    index += 2
                    continue
                if current == "[":
                    in_class = True
                elif current == "]":
                    in_class = False
                elif current == "/" and not in_class:
                    break
                index += 1
            index += 1
            last_significant = "/"
            continue
        if char in "'\"`":
            start = index + 1
            index = start
            spans: list[tuple[int, int]] = []
            while index < length and source[index] != char:
                if source[index] == "\\":
                    index += 2
                    continue
                if char == "`" and source.startswith("${", index):
                    field_start, depth = index, 0
                    while index < length:
                        if source[index] == "{":
                            depth += 1
                        elif source[index] == "}":
                            depth -= 1
                            if depth == 0:
                                break
                        index += 1
                    spans.append((field_start - start, index + 1 - start))
                index += 1
            yield start, index, spans
            index += 1
            last_significant = char
            continue
        if not char.isspace():
            last_significant = char if not (char.isalnum() or char in "_$") else "a"
        index += 1


def convert_js(source: str) -> str:
    """Convert the strings of a script."""
    edits = []
    for start, end, spans in _js_strings(source):
        text = source[start:end]
        new = convert_masked(text, spans, english_aware=True)
        if new != text:
            edits.append((start, end, new))
    for start, end, new in reversed(edits):
        source = source[:start] + new + source[end:]
    return source


# ----------------------------------------------------------------------------- JSON, templates

JSON_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def convert_json(source: str) -> str:
    """Convert the string values (and keys) of a JSON document, keeping its layout."""

    def one(match: re.Match[str]) -> str:
        text = match.group(1)
        return '"' + convert_masked(text, [], english_aware=False) + '"'

    return JSON_STRING.sub(one, source)


def convert_template(source: str) -> str:
    """Convert a Jinja template's text, leaving its tags and expressions alone."""
    spans = [m.span() for m in JINJA.finditer(source)]
    return convert_masked(source, spans, english_aware=False)


CONVERTERS = {".py": convert_python, ".js": convert_js, ".json": convert_json}


def convert_file(path: Path) -> str:
    """The converted text of one file."""
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        return convert_template(source)
    return CONVERTERS[path.suffix](source)


def files(roots: list[Path]) -> Iterator[Path]:
    """The files under ``roots`` this tool reads: no vendored code, no migrations' history."""
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            if {"vendor", "migrations", "__pycache__", ".venv"} & set(path.parts):
                continue
            yield path


def findings(roots: list[Path]) -> list[Finding]:
    """Every line whose conversion would change, file by file."""
    found = []
    for path in files(roots):
        before = path.read_text(encoding="utf-8")
        after = convert_file(path)
        if before == after:
            continue
        old_lines, new_lines = before.splitlines(), after.splitlines()
        for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
            if old != new:
                found.append(Finding(path, number, old.strip(), new.strip()))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        found = findings(args.roots)
        for item in found:
            print(f"{item.path}:{item.line}: {item.before}\n    -> {item.after}")
        return 1 if found else 0
    changed = 0
    for path in files(args.roots):
        before = path.read_text(encoding="utf-8")
        after = convert_file(path)
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed += 1
            print(path)
    print(f"{changed} files changed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
