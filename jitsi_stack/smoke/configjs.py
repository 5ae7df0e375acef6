"""config.js as a browser reads it: run it in QuickJS, then judge what it sets.

The web container serves system-config.js + settings-config.js + custom-config.js as one
classic script. :func:`evaluate_config_js` runs it the way a page does: a fresh global
object with ``window === globalThis``, a ``location``/``document`` for the public URL,
then reads back ``config.hosts.domain``, ``config.hosts.muc``, ``config.bosh`` and
``config.websocket``. Each evaluation gets its own QuickJS context, bounded in time and
memory, created and dropped in the calling thread (a context must not change threads).
:func:`judge_config_js` compares the values with the target; :func:`error_outcome`
explains a script that does not run to its end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .explain import Outcome, merge, one_line
from .target import SmokeTarget, base, display, hostport, origin

if TYPE_CHECKING:
    import quickjs

JS_TIME_LIMIT = 2.0  # seconds of CPU per evaluation (QuickJS measures the process's clock())
JS_MEMORY_LIMIT = 64 * 1024 * 1024
JS_STACK_LIMIT = 256 * 1024  # far below a worker thread's stack; config.js barely recurses
JS_MAX_JOBS = 1000  # promise jobs run after the script, as a browser runs microtasks

KEYS = {"domain": "hosts.domain", "muc": "hosts.muc", "bosh": "bosh", "websocket": "websocket"}
REDO = "run `inv render` and recreate the web container (`inv start`)"

# The page: window === globalThis, a location for the public URL, a document pointing at it.
# Returns the reader, which closes over the intrinsic JSON.stringify so that a script
# replacing JSON (or anything else global) cannot change what is read back.
_PRELUDE = """\
(function (page, stringify) {
    var g = globalThis;
    var location = {
        href: page.href, protocol: page.protocol, host: page.host, hostname: page.hostname,
        port: page.port, pathname: '/', search: '', hash: '', origin: page.origin,
        toString: function () { return page.href; }
    };
    g.window = g;
    g.self = g;
    g.location = location;
    g.document = {
        location: location, URL: page.href, documentURI: page.href, domain: page.hostname,
        referrer: '', cookie: '', title: ''
    };
    g.navigator = { userAgent: page.userAgent, language: 'en-US', languages: ['en-US'] };
    function read(get) {
        var v;
        try {
            v = get();
        } catch (e) {
            return { type: 'a getter that throws (' + String(e) + ')' };
        }
        if (v === undefined || v === null) return { type: 'unset' };
        if (typeof v === 'string') return { type: 'string', value: v };
        return { type: Array.isArray(v) ? 'array' : typeof v };
    }
    return function () {
        if (typeof config !== 'object' || config === null) return stringify({ defined: false });
        return stringify({
            defined: true,
            domain: read(function () { return config.hosts && config.hosts.domain; }),
            muc: read(function () { return config.hosts && config.hosts.muc; }),
            bosh: read(function () { return config.bosh; }),
            websocket: read(function () { return config.websocket; })
        });
    };
})
"""

_LINE_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029]")
_HEAD = re.compile(r"^(?P<kind>[A-Za-z]*Error): (?P<message>.*)$")
_WHERE = re.compile(r"<input>:(?P<line>\d+):(?P<column>\d+)")
_TENANT_VAR = re.compile(r"^'?(subdir|subdomain)'? is not defined")
_SCHEME_TWICE = re.compile(r"^(?:wss?|https?)://https?://", re.IGNORECASE)


@dataclass(frozen=True)
class ConfigJs:
    """What config.js leaves in ``config`` (None = unset, undefined or null)."""

    domain: str | None = None
    muc: str | None = None
    bosh: str | None = None
    websocket: str | None = None
    defined: bool = True  # the script left a `config` object behind
    types: Mapping[str, str] = field(default_factory=dict)  # key -> JS type when not a string


class ConfigJsError(Exception):
    """config.js did not run to its end: a syntax error, an exception, the time or memory limit.

    kind is the JS error name ("SyntaxError", "ReferenceError", ...), "timeout", "memory"
    or "exception" (a thrown non-Error); line and column are 1-based positions in config.js.
    """

    def __init__(
        self, kind: str, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(f"{kind}: {message}" + (f" (line {line})" if line else ""))
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.source = ""  # the offending line of config.js, set by evaluate_config_js


def page(url: str) -> dict[str, str]:
    """window.location of a page at url (credentials, query and fragment dropped)."""
    parts = urlsplit(display(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    shown = f"[{host}]" if ":" in host else host
    port = "" if parts.port in (None, {"http": 80, "https": 443}.get(scheme)) else str(parts.port)
    netloc = f"{shown}:{port}" if port else shown
    return {
        "href": f"{scheme}://{netloc}/",
        "protocol": f"{scheme}:",
        "host": netloc,
        "hostname": shown,
        "port": port,
        "origin": f"{scheme}://{netloc}",
        "userAgent": "jitsi-stack-smoke",
    }


def evaluate_config_js(
    text: str,
    page_url: str,
    *,
    time_limit: float = JS_TIME_LIMIT,
    memory_limit: int = JS_MEMORY_LIMIT,
) -> ConfigJs:
    """Run config.js as the page at page_url would and return what it sets.

    Raises :class:`ConfigJsError` when the script does not run to its end.
    """
    import quickjs  # quickjs-ng; imported here so the other checks never need it

    ctx = quickjs.Context()  # one per evaluation, used only in this thread
    ctx.set_memory_limit(memory_limit)
    ctx.set_max_stack_size(JS_STACK_LIMIT)
    ctx.set_time_limit(time_limit)
    reader = ctx.eval(_PRELUDE)(
        ctx.parse_json(json.dumps(page(page_url))), ctx.eval("JSON.stringify")
    )
    try:
        ctx.eval(text)
        for _ in range(JS_MAX_JOBS):
            if not ctx.execute_pending_job():
                break
        data = json.loads(reader())
    except quickjs.JSException as exc:
        err = _error(str(exc), ctx, memory_limit, time_limit)
        lines = _LINE_BREAK.split(text)
        if err.line and err.line <= len(lines):
            err.source = one_line(lines[err.line - 1], 100)
        raise err from None
    if not data.get("defined"):
        return ConfigJs(defined=False)
    values: dict[str, str | None] = {}
    types: dict[str, str] = {}
    for key in KEYS:
        item = data.get(key) or {}
        values[key] = item.get("value") if item.get("type") == "string" else None
        if item.get("type") not in ("string", "unset"):
            types[key] = str(item.get("type"))
    return ConfigJs(
        domain=values["domain"],
        muc=values["muc"],
        bosh=values["bosh"],
        websocket=values["websocket"],
        types=types,
    )


def _error(text: str, ctx: quickjs.Context, memory_limit: int, time_limit: float) -> ConfigJsError:
    head, _, stack = text.partition("\n")
    where = _WHERE.search(stack) or _WHERE.search(head)
    line = int(where["line"]) if where else None
    column = int(where["column"]) if where else None
    match = _HEAD.match(head.strip())
    kind, message = (match["kind"], match["message"]) if match else ("exception", head.strip())
    if kind == "InternalError" and message == "interrupted":
        return ConfigJsError("timeout", f"still running after {time_limit:g}s", line, column)
    out_of_memory = "out of memory" in message
    if not out_of_memory and head.strip() in ("", "null"):  # OOM while building the error
        used = ctx.memory().get("malloc_size", 0)
        out_of_memory = used >= memory_limit * 0.9
    if out_of_memory:
        limit = f"{memory_limit / 2**20:g} MB"
        return ConfigJsError("memory", f"used more than {limit}", line, column)
    return ConfigJsError(kind, message, line, column)


def error_outcome(err: ConfigJsError, target: SmokeTarget) -> Outcome:
    """The fail outcome for a config.js that stops early, naming the error and the line."""
    where = f" at line {err.line}" if err.line else ""
    source = f": {err.source}" if err.source else ""
    fix = "correct web.custom_config_js (or a hand edit of custom-config.js) and " + REDO
    if err.kind in ("timeout", "memory"):
        what = "did not finish" if err.kind == "timeout" else "ran out of memory"
        return Outcome(
            "fail",
            f"config.js {what} ({err.message}); stopped{where}{source}",
            f"config.js {what} (an endless loop or runaway allocation?): browsers hang on it "
            "and jitsi-meet never starts",
            fix,
        )
    detail = f"{err.kind}{where}: {err.message}{source}"
    stops = (
        "browsers stop config.js there, so the settings after it (custom-config.js comes "
        "last) never apply"
    )
    if err.kind == "SyntaxError":
        return Outcome(
            "fail",
            detail,
            "config.js is not valid JavaScript: browsers run none of it and jitsi-meet "
            "starts without its configuration",
            fix,
        )
    tenant = _TENANT_VAR.match(err.message)
    if err.kind == "ReferenceError" and tenant:
        name = tenant.group(1)
        return Outcome(
            "fail",
            detail,
            f"config.js uses `{name}`, which upstream's system-config.js declares only when "
            f"ENABLE_SUBDOMAINS is on (ENABLE_SUBDOMAINS=false here?): {stops}",
            f"leave ENABLE_SUBDOMAINS on (the default), or render custom-config.js without "
            f"`{name}`; then {REDO}",
        )
    thrown = err.kind if err.kind.endswith("Error") else "an exception"
    return Outcome("fail", detail, f"config.js throws {thrown}{where}: {stops}", fix)


def judge_config_js(cfg: ConfigJs, target: SmokeTarget) -> Outcome:
    """Compare the values config.js leaves with what the target's browsers need."""
    if not cfg.defined:
        return Outcome(
            "fail",
            "config.js leaves no `config` object",
            "the served config.js is not jitsi-meet's configuration (empty, or another file)",
            REDO,
        )
    fails: list[tuple[str, str]] = []
    warns: list[tuple[str, str]] = []
    page_origin = origin(target.public_url)
    for key, kind in cfg.types.items():
        fails.append((f"config.{KEYS[key]} is {_article(kind)}, not a string", REDO))
    for key, want in (("domain", target.xmpp_domain), ("muc", target.muc_domain)):
        have = getattr(cfg, key)
        if key not in cfg.types and have != want:
            fails.append(
                (
                    f"config.{KEYS[key]} is {have!r}, expected {want!r}: the web "
                    "container and the settings disagree (stale container or wrong settings)",
                    REDO,
                )
            )
    if "bosh" not in cfg.types:
        fails.extend(_judge_bosh(cfg.bosh, target, page_origin))
    if "websocket" not in cfg.types:
        problems, notes = _judge_websocket(cfg.websocket, target, page_origin)
        fails.extend(problems)
        warns.extend(notes)
    detail = " ".join(f"{key}={_show(cfg, key)}" for key in KEYS)
    if fails:
        return Outcome("fail", detail, *merge(fails))
    if warns:
        return Outcome("warn", detail, *merge(warns))
    return Outcome("pass", detail)


def _judge_bosh(
    bosh: str | None, target: SmokeTarget, page_origin: tuple[str, str, int]
) -> list[tuple[str, str]]:
    if not bosh:
        return [("config.js sets no BOSH URL (config.bosh)", REDO)]
    if _SCHEME_TWICE.match(bosh):
        return [
            (
                f"config.bosh is {_clean(bosh)!r}: upstream builds it as 'https://' + "
                "PUBLIC_URL minus a leading 'https://', so an http:// PUBLIC_URL yields "
                "'https://http://…' and browsers cannot connect",
                f"override it in custom-config.js with config.bosh = '{base(target)}/http-bind' "
                "(jitsi-stack renders this: `inv render`, recreate web) or serve the site "
                "over https",
            )
        ]
    resolved = urljoin(base(target) + "/", bosh)
    if origin(resolved) != page_origin:
        return [
            (
                f"config.bosh points to {display(resolved)}, not to the site "
                f"{base(target)}: browsers cannot reach it (mixed content or CORS)",
                "point config.bosh at the public URL (PUBLIC_URL) and " + REDO,
            )
        ]
    return []


def _judge_websocket(
    ws: str | None, target: SmokeTarget, page_origin: tuple[str, str, int]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    ws_scheme = "wss" if page_origin[0] == "https" else "ws"
    want = f"{ws_scheme}://{hostport(target.public_url)}/xmpp-websocket"
    if not ws:
        if not target.websocket_enabled:
            return [], []
        cause = (
            "config.js sets no websocket URL although websocket is enabled in the settings "
            "(the running web container has ENABLE_XMPP_WEBSOCKET off)"
        )
        return [(cause, REDO)], []
    notes = []
    if not target.websocket_enabled:
        notes.append(
            (
                "config.js sets a websocket URL although websocket is disabled in the "
                "settings: browsers will use it",
                REDO,
            )
        )
    if _SCHEME_TWICE.match(ws):
        cause = (
            f"config.websocket is {_clean(ws)!r}: upstream builds it as 'wss://' + "
            "PUBLIC_URL minus a leading 'https://', so an http:// PUBLIC_URL yields "
            "'wss://http://…' and browsers cannot connect"
        )
        fix = (
            f"override it in custom-config.js with config.websocket = '{want}' (jitsi-stack "
            "renders this for http public URLs: `inv render`, recreate web) or serve the "
            "site over https"
        )
        return [(cause, fix)], notes
    have = origin(ws)
    if have[0] != ws_scheme:
        why = (
            "browsers block ws:// from an https page (mixed content)"
            if ws_scheme == "wss"
            else "wss:// needs TLS, which this plain-HTTP port does not speak"
        )
        cause = f"config.websocket uses {have[0]}:// but the site is {page_origin[0]}://: {why}"
        fix = f"set config.websocket to {want} (custom-config.js) and " + REDO
        return [(cause, fix)], notes
    if have[1:] != page_origin[1:]:
        cause = (
            f"config.websocket points to {have[1]}:{have[2]}, not to the site "
            f"{page_origin[1]}:{page_origin[2]}"
        )
        return [(cause, "set PUBLIC_URL to the address browsers use and " + REDO)], notes
    return [], notes


def _article(kind: str) -> str:
    if kind.startswith("a getter"):
        return f"read through {kind}"
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _show(cfg: ConfigJs, key: str) -> str:
    if key in cfg.types:
        return f"<{cfg.types[key].split(' (', 1)[0]}>"
    value = getattr(cfg, key)
    return "unset" if value is None else _clean(value)


def _clean(value: str) -> str:
    """A config URL without credentials or query string (tokens travel in queries)."""
    return re.sub(r"//[^/@]*@", "//", value.split("?", 1)[0])
