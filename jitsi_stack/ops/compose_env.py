"""Read a `.env` file the way Docker Compose reads it, for `inv adopt`.

Why not python-dotenv: it disagrees with Compose on lines a hand-edited docker-jitsi-meet
`.env` holds (checked with python-dotenv 1.2.4 against `docker compose config` v2.40.3):
a single-quoted `'a \\\\ b'` (python-dotenv unescapes the backslash, Compose keeps both),
an unquoted `$VAR` (Compose expands it, python-dotenv keeps it), `$$` (Compose: one `$`),
`${VAR:+alt}` and `${VAR?err}` (python-dotenv leaves them as text), a tab before `#`
(a comment for python-dotenv, part of the value for Compose) and `KEY: value` (Compose's
YAML-style line, a parse error for python-dotenv). So this is a small reader of our own
to Compose's rules, held against the real `docker compose config` by
tests/docker/test_adopt_dotenv.py.

The rules, from compose-spec/compose-go (commit e70e961, the v2 line Compose v2.40 uses):
dotenv/parser.go (statement start, key characters `[letters digits _ . - [ ]]`, `export `,
`=` or `:`, unquoted values cut at " #" and right-trimmed, quotes with backslash-escaped
quote characters, double quotes expanding `\\n \\r \\t ... \\\\ \\$ \\"` then interpolating,
single quotes literal), dotenv/godotenv.go (a UTF-8 BOM is skipped: we refuse it instead,
see `read`) and template/template.go (`$$`, `$NAME`, `${NAME}`, `${NAME:-x}`, `${NAME-x}`,
`${NAME:+x}`, `${NAME+x}`, `${NAME:?msg}`, `${NAME?msg}`; an unset name is empty; the names
visible are the lines above, since Compose gives the OS environment precedence and adopt
reads the file alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import UsageError

MAX_BYTES = 1 << 20  # 1 MiB: env.example is 10 kB; a real .env a few times that

_SPACE = "\t\v\f\r \x85\xa0"  # compose-go isSpace: blanks but not the line break
_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0\d{0,3})")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "c": "\\c",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    '"': '"',
    "\\": "\\",
}


@dataclass(frozen=True)
class Entry:
    name: str
    value: str
    line: int  # where the statement starts, 1-based


@dataclass
class Dotenv:
    entries: list[Entry]  # in file order; a name given twice appears twice
    warnings: list[str] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """What Compose ends up with: the last line of a name wins."""
        return {e.name: e.value for e in self.entries}

    def last(self) -> dict[str, Entry]:
        return {e.name: e for e in self.entries}


class DotenvError(UsageError):
    pass


def read(data: bytes, label: str) -> Dotenv:
    """The entries of a .env file; DotenvError (one line, naming label:LINE) for anything
    Compose refuses, and for a file adopt will not guess about (BOM, not UTF-8, too big)."""
    if len(data) > MAX_BYTES:
        raise DotenvError(
            f"{label}: is {len(data)} bytes, more than the 1 MiB a .env file may have here: "
            "give docker-jitsi-meet's .env"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        # compose-go skips it (dotenv/godotenv.go utf8BOM); an editor that adds one may
        # have changed more (encoding, line ends): the operator saves it plainly first.
        raise DotenvError(f"{label}: starts with a byte-order mark: save it as UTF-8 without BOM")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DotenvError(f"{label}:{line}: is not UTF-8: save the file as UTF-8") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DotenvError(f"{label}:{line}: holds a NUL byte: remove it")
    return _Parser(text, label).parse()


class _Parser:
    def __init__(self, text: str, label: str) -> None:
        self.src = text
        self.pos = 0
        self.label = label
        self.out: dict[str, str] = {}
        self.entries: list[Entry] = []
        self.warnings: list[str] = []

    def line(self, pos: int | None = None) -> int:
        return self.src.count("\n", 0, self.pos if pos is None else pos) + 1

    def fail(self, why: str, pos: int | None = None) -> DotenvError:
        return DotenvError(f"{self.label}:{self.line(pos)}: {why}")

    def parse(self) -> Dotenv:
        src = self.src
        while True:
            # statement start: skip blanks and whole comment lines (parser.go getStatementStart)
            while self.pos < len(src) and src[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(src):
                break
            if src[self.pos] == "#":
                nl = src.find("\n", self.pos)
                if nl < 0:
                    break
                self.pos = nl
                continue
            start = self.pos
            name, inherited = self.key()
            if inherited:
                # `NAME` alone: Compose takes it from its own environment; adopt has none
                self.warnings.append(
                    f"{self.label}:{self.line(start)}: {name} has no `=`: Compose takes it from "
                    "the shell's environment, which adopt does not read: it is left out"
                )
                continue
            value = self.value(start)
            if name in self.out:
                first = next(e.line for e in self.entries if e.name == name)
                self.warnings.append(
                    f"{self.label}:{self.line(start)}: {name} is set again (first on line "
                    f"{first}): Compose uses the last one, and so does adopt"
                )
            self.out[name] = value
            self.entries.append(Entry(name, value, self.line(start)))
        return Dotenv(self.entries, self.warnings)

    def key(self) -> tuple[str, bool]:
        src = self.src
        if re.match(r"export\s", src[self.pos : self.pos + 7]):
            self.pos += 6
            while self.pos < len(src) and src[self.pos] in _SPACE:
                self.pos += 1
        i = self.pos
        while i < len(src):
            c = src[i]
            if c in _SPACE:
                i += 1
                continue
            if c in "=:\n":
                break
            if not (c in "_.-[]" or c.isalpha() or c.isdigit()):
                raise self.fail(
                    f"unexpected character {c!r} in a variable name: write NAME=value", i
                )
            i += 1
        else:
            raise self.fail("a name without `=` at the end of the file: write NAME=value", i)
        raw = src[self.pos : i].rstrip()
        if " " in raw or not raw:
            raise self.fail("a variable name cannot hold a space: write NAME=value", i)
        inherited = src[i] == "\n"
        self.pos = i + 1
        while self.pos < len(src) and src[self.pos] in _SPACE:
            self.pos += 1
        return raw, inherited

    def value(self, start: int) -> str:
        src = self.src
        quote = src[self.pos] if self.pos < len(src) and src[self.pos] in "'\"" else ""
        if not quote:
            end = src.find("\n", self.pos)
            end = len(src) if end < 0 else end
            raw = src[self.pos : end].split(" #", 1)[0].rstrip()
            self.pos = end
            return self.interpolate(raw, start)
        chars: list[str] = []
        escaped = False
        i = self.pos + 1
        while i < len(src):
            c = src[i]
            if c != quote:
                if not escaped and c == "\\":
                    escaped = True
                elif escaped:
                    escaped = False
                    chars += ["\\", c]
                else:
                    chars.append(c)
                i += 1
                continue
            if escaped:
                escaped = False
                chars.append(c)
                i += 1
                continue
            self.pos = i + 1
            value = "".join(chars)
            if quote == '"':
                value = self.interpolate(_unescape(value), start)
            return value
        raise self.fail("a quoted value is not closed: add the closing quote", start)

    # -- interpolation (template/template.go) --------------------------------------

    def lookup(self, name: str) -> str | None:
        return self.out.get(name)

    def interpolate(self, text: str, start: int) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "$" or i + 1 >= len(text):
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            named = _NAME.match(text, i + 1)
            if named:
                out.append(self.get(named.group(), start))
                i = named.end()
                continue
            if nxt != "{":
                out.append(c)
                i += 1
                continue
            close = _closing(text, i)
            braced = _NAME.match(text, i + 2)
            if close < 0 or not braced:
                raise self.fail(
                    f"{text[i : i + 20]!r} is not a valid ${{...}}: write ${{NAME}} or "
                    "${NAME:-default}, or $$ for a literal $",
                    start,
                )
            name, rest = braced.group(), text[braced.end() : close]
            out.append(self.substitute(name, rest, start))
            i = close + 1
        return "".join(out)

    def get(self, name: str, start: int) -> str:
        value = self.lookup(name)
        if value is None:
            self.warnings.append(
                f"{self.label}:{self.line(start)}: ${name} is not set above: "
                "Compose reads it as empty, and so does adopt"
            )
            return ""
        return value

    def substitute(self, name: str, rest: str, start: int) -> str:
        if not rest:
            return self.get(name, start)
        match = re.match(r":?[-+?]", rest)
        if not match:
            raise self.fail(
                f"${{{name}{rest}}} is not a valid substitution: use ${{{name}:-default}}", start
            )
        op, arg = match.group(), rest[match.end() :]
        value = self.lookup(name)
        present = value is not None and (not op.startswith(":") or value != "")
        if op.endswith("-"):
            return value if present and value is not None else self.interpolate(arg, start)
        if op.endswith("+"):
            return self.interpolate(arg, start) if present else (value or "")
        if not present:  # ? and :?
            raise self.fail(
                f"${{{name}{op}...}}: {name} is required and not set: set it above this line",
                start,
            )
        return value or ""


def _closing(text: str, start: int) -> int:
    """The index of the } that closes the ${ at start: compose-go counts every { and }
    (template.go getFirstBraceClosingIndex)."""
    depth = 0
    i = start
    while i < len(text):
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        if text[i] == "{":
            depth += 1
            i += 1
        i += 1
    return -1


def _unescape(value: str) -> str:
    """A double-quoted value's escapes (parser.go expandEscapes): `\\$` stays a literal
    `$` (written `$$` for the interpolation after it), an octal `\\0NNN` is the byte."""

    def one(match: re.Match[str]) -> str:
        seq = match.group()[1:]
        if seq == "$":
            return "$$"
        if seq.startswith("0"):  # Go's UnquoteChar takes exactly three octal digits <= 377
            digits = seq[1:]
            ok = len(digits) == 3 and set(digits) <= set("01234567") and int(digits, 8) < 256
            return chr(int(digits, 8)) if ok else match.group()
        return _ESCAPES.get(seq, match.group())

    return _ESCAPE.sub(one, value)
