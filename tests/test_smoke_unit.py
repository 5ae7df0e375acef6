"""Unit tests of the smoke checks, without Docker.

HTTP endpoints (web, jicofo, jvb) are small stand-in servers on 127.0.0.1 ephemeral ports;
`docker compose` is a stand-in script; BOSH and websocket run against a REAL prosody
(Debian's /usr/bin/prosody, `apt-get install -y prosody`) started on loopback with a
temporary config. Without prosody those tests skip with a loud reason, or fail when
JITSI_STACK_REQUIRE_PROSODY=1.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jitsi_stack import smoke
from jitsi_stack.smoke import (
    CHECK_NAMES,
    CheckResult,
    SmokeTarget,
    exit_code,
    judge_config_js,
    parse_config_js,
    render_table,
    run_checks,
    to_json,
    write_junit,
)
from jitsi_stack.xmpp_probe import BoshClient, Deadline, StanzaError, open_rooms

# --------------------------------------------------------------------------------------------
# config.js as upstream serves it: system-config.js + settings-config.js (+ custom-config.js)

SYSTEM_CONFIG_HTTP = """\
// Jitsi Meet configuration.
var config = {};

if (!config.hasOwnProperty('hosts')) config.hosts = {};

config.hosts.domain = 'meet.jitsi';
config.focusUserJid = 'focus@auth.meet.jitsi';

var subdir = '<!--# echo var="subdir" default="" -->';
var subdomain = "<!--# echo var="subdomain" default="" -->";
if (subdir.startsWith('<!--')) {
    subdir = '';
}
if (subdomain) {
    subdomain = subdomain.substring(0,subdomain.length-1).split('.').join('_').toLowerCase() + '.';
}
config.hosts.muc = 'muc.' + subdomain + 'meet.jitsi';

config.bosh = '/http-bind';

config.websocket = 'wss://http://localhost:8443/' + subdir + 'xmpp-websocket';
"""

SETTINGS_CONFIG = """\
// settings-config.js
config.p2p = { enabled: true, stunServers: [ { urls: 'stun:turn.example.net:443' } ] };
config.flags = config.flags || {};
config.flags.sourceNameSignaling = true; /* config.websocket = 'wss://nope/'; */
var stripped = 'a/b'.replace(/'/g, "\\"");  // a regex literal holding a quote
config.toolbarButtons = ['microphone', 'camera'];
"""

CUSTOM_WS_OVERRIDE = """\
// custom-config.js rendered by jitsi-stack for plain-HTTP development
config.websocket = 'ws://localhost:8443/xmpp-websocket';
"""

HTTP_TARGET = SmokeTarget(public_url="http://localhost:8443")


def test_config_js_last_assignment_wins() -> None:
    text = SYSTEM_CONFIG_HTTP + SETTINGS_CONFIG + CUSTOM_WS_OVERRIDE
    cfg = parse_config_js(text)
    assert cfg.domain == "meet.jitsi"
    assert cfg.muc == "muc.meet.jitsi"  # 'muc.' + subdomain + 'meet.jitsi', subdomain = ''
    assert cfg.bosh == "/http-bind"
    assert cfg.websocket == "ws://localhost:8443/xmpp-websocket"
    assert cfg.opaque == {}
    # and without the override the upstream value stands
    assert parse_config_js(SYSTEM_CONFIG_HTTP + SETTINGS_CONFIG).websocket == (
        "wss://http://localhost:8443/xmpp-websocket"
    )


def test_config_js_upstream_wss_http_bug_is_detected() -> None:
    outcome = judge_config_js(parse_config_js(SYSTEM_CONFIG_HTTP + SETTINGS_CONFIG), HTTP_TARGET)
    assert outcome.status == "fail"
    assert "wss://http://" in outcome.cause
    assert "PUBLIC_URL" in outcome.cause
    assert "config.websocket = 'ws://localhost:8443/xmpp-websocket'" in outcome.fix


def test_config_js_custom_override_passes() -> None:
    text = SYSTEM_CONFIG_HTTP + SETTINGS_CONFIG + CUSTOM_WS_OVERRIDE
    outcome = judge_config_js(parse_config_js(text), HTTP_TARGET)
    assert outcome.status == "pass", outcome
    assert "websocket=ws://localhost:8443/xmpp-websocket" in outcome.detail


def test_config_js_https_upstream_default_passes() -> None:
    text = SYSTEM_CONFIG_HTTP.replace("wss://http://localhost:8443/", "wss://meet.example.com/")
    target = SmokeTarget(public_url="https://meet.example.com")
    assert judge_config_js(parse_config_js(text), target).status == "pass"


@pytest.mark.parametrize(
    ("extra", "target", "needle"),
    [
        ("config.hosts.domain = 'other.jitsi';", HTTP_TARGET, "hosts.domain is 'other.jitsi'"),
        ("config.hosts.muc = 'conference.meet.jitsi';", HTTP_TARGET, "hosts.muc"),
        ("config.bosh = 'https://elsewhere.example/http-bind';", HTTP_TARGET, "config.bosh"),
        ("config.websocket = 'wss://localhost:8443/xmpp-websocket';", HTTP_TARGET, "wss://"),
        ("config.websocket = 'ws://otherhost:8443/xmpp-websocket';", HTTP_TARGET, "otherhost"),
        (
            "config.websocket = 'ws://meet.example.com/xmpp-websocket';",
            SmokeTarget(public_url="https://meet.example.com"),
            "mixed content",
        ),
        ("delete config.websocket;", HTTP_TARGET, "no websocket URL"),
    ],
)
def test_config_js_mismatches_fail(extra: str, target: SmokeTarget, needle: str) -> None:
    text = SYSTEM_CONFIG_HTTP + CUSTOM_WS_OVERRIDE + extra + "\n"
    outcome = judge_config_js(parse_config_js(text), target)
    assert outcome.status == "fail"
    assert needle in outcome.cause
    assert outcome.fix


def test_config_js_expression_forms() -> None:
    text = textwrap.dedent(
        """\
        config.hosts = {};  // ensure-exists idiom keeps nothing and resets nothing
        config.hosts.domain = "meet.jitsi"
        config.hosts = { domain: 'x.example', muc: 'conference.' + 'x.example', focus: 'f' }
        config['bosh'] = `/http-bind`
        config.bosh += '?room=abc'
        config.websocket = 'ws://' + location.host + '/' + subdir + 'xmpp-websocket'
        // config.websocket = 'ws://commented.out/';
        """
    )
    cfg = parse_config_js(text, location="http://localhost:8443/")
    assert (cfg.domain, cfg.muc) == ("x.example", "conference.x.example")
    assert cfg.bosh == "/http-bind?room=abc"
    assert cfg.websocket == "ws://localhost:8443/xmpp-websocket"


def test_config_js_runtime_expression_warns() -> None:
    text = SYSTEM_CONFIG_HTTP + "config.websocket = useWs ? 'ws://a/x' : undefined;\n"
    cfg = parse_config_js(text)
    assert "websocket" in cfg.opaque
    outcome = judge_config_js(cfg, HTTP_TARGET)
    assert outcome.status == "warn"
    assert "computed at runtime" in outcome.cause


# --------------------------------------------------------------------------------------------
# stand-in HTTP servers


# (status, content type, body[, delay seconds[, extra headers]])
Route = tuple[Any, ...]


class _Handler(BaseHTTPRequestHandler):
    server: _StandIn

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        self.server.seen.append((method, path, dict(self.headers), body))
        route = self.server.routes.get((method, path))
        if callable(route):
            route = route(body)
        if route is None:
            route = (404, "text/html", "<html>not found</html>")
        status, ctype, payload, *rest = route
        if rest and rest[0]:
            time.sleep(rest[0])
        headers = rest[1] if len(rest) > 1 else {}
        data = payload.encode() if isinstance(payload, str) else payload
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout tests)

    def log_message(self, *args: Any) -> None:
        pass


class _StandIn(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    routes: dict[tuple[str, str], Any]
    seen: list[tuple[str, str, dict[str, str], bytes]]


@contextlib.contextmanager
def stand_in(
    routes: dict[tuple[str, str], Route | Callable[[bytes], Route]],
    tls: ssl.SSLContext | None = None,
) -> Iterator[tuple[_StandIn, str]]:
    srv = _StandIn(("127.0.0.1", 0), _Handler)
    srv.routes, srv.seen = routes, []
    scheme = "http"
    if tls is not None:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv, f"{scheme}://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


INDEX = "<html><script src='config.js?v=1'></script>Jitsi Meet</html>"


def local_target(url: str, **kw: Any) -> SmokeTarget:
    base = {"jicofo_url": None, "jvb_url": None, "timeout": 3.0}
    base.update(kw)
    return SmokeTarget(public_url=url, **base)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_web_and_config_js_pass_against_a_good_web_container() -> None:
    with stand_in({}) as (srv, url):
        config = SYSTEM_CONFIG_HTTP.replace("localhost:8443", url.split("//")[1])
        config += f"config.websocket = 'ws://{url.split('//')[1]}/xmpp-websocket';\n"
        srv.routes.update(
            {
                ("GET", "/"): (200, "text/html", INDEX),
                ("GET", "/config.js"): (200, "application/javascript", config),
            }
        )
        results = by_name(run_checks(local_target(url), only=["web", "config-js"]))
    assert results["web"].status == "pass", results["web"]
    assert results["config-js"].status == "pass", results["config-js"]


def test_config_js_check_reports_upstream_bug_over_http() -> None:
    with stand_in({}) as (srv, url):
        hostport = url.split("//")[1]
        srv.routes[("GET", "/config.js")] = (
            200,
            "application/javascript",
            SYSTEM_CONFIG_HTTP.replace("localhost:8443", hostport),
        )
        (result,) = run_checks(local_target(url), only=["config-js"])
    assert result.status == "fail"
    assert "wss://http://" in result.cause
    assert f"ws://{hostport}/xmpp-websocket" in result.fix


def test_web_redirect_off_host_fails() -> None:
    redirect = (302, "text/html", "", 0, {"Location": "https://evil.example/"})
    with stand_in({("GET", "/"): redirect}) as (_, url):
        (result,) = run_checks(local_target(url), only=["web"])
    assert result.status == "fail"
    assert "evil.example" in result.detail
    assert "another host" in result.cause


def _jicofo(ready: Any, seen_bodies: list[dict[str, Any]]) -> Callable[[bytes], Route]:
    def answer(body: bytes) -> Route:
        seen_bodies.append(json.loads(body))
        payload = {"ready": ready, "focusJid": "focus@auth.meet.jitsi"}
        return (200, "application/json", json.dumps(payload))

    return answer


@pytest.mark.parametrize(("ready", "status"), [(False, "fail"), (True, "pass")])
def test_focus_needs_ready_true(ready: bool, status: str) -> None:
    bodies: list[dict[str, Any]] = []
    routes = {("POST", "/conference-request/v1"): _jicofo(ready, bodies)}
    with stand_in(routes) as (srv, jicofo):
        target = local_target("http://127.0.0.1:9", jicofo_url=jicofo)
        (result,) = run_checks(target, only=["focus"])
        headers = srv.seen[0][2]
    assert result.status == status, result
    if status == "fail":
        assert "no bridge" in result.cause
        assert "jvb down or not logged in" in result.cause
    # the request has the web client's shape
    (body,) = bodies
    assert body["room"].startswith("jitsi-stack-probe-")
    assert body["room"].endswith("@muc.meet.jitsi")
    assert body["properties"]["visitors-version"] == 1
    assert "machineUid" in body
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("bridges", "status"), [(0, "fail"), (2, "pass")])
def test_focus_needs_an_operational_bridge(bridges: int, status: str) -> None:
    """ready=true only means focus joined: jicofo's /stats must count a bridge."""
    stats = {"bridge_selector": {"bridge_count": bridges, "operational_bridge_count": bridges}}
    routes = {
        ("POST", "/conference-request/v1"): _jicofo(True, []),
        ("GET", "/stats"): (200, "application/json", json.dumps(stats)),
    }
    with stand_in(routes) as (_, jicofo):
        target = local_target("http://127.0.0.1:9", jicofo_url=jicofo)
        (result,) = run_checks(target, only=["focus"])
    assert result.status == status, result
    if status == "fail":
        assert "0 operational bridges" in result.detail
        assert "jvb down" in result.cause
    else:
        assert "2 operational bridge(s)" in result.detail


def test_focus_403_is_a_warning_and_skip_when_remote() -> None:
    with stand_in({("POST", "/conference-request/v1"): (403, "text/plain", "")}) as (_, jicofo):
        (result,) = run_checks(local_target("http://x.invalid", jicofo_url=jicofo), only=["focus"])
    assert result.status == "warn"
    (skipped,) = run_checks(local_target("http://x.invalid"), only=["focus"])
    assert skipped.status == "skip"


def test_health_endpoints() -> None:
    routes = {("GET", "/about/health"): (200, "application/json", "")}
    with stand_in(routes) as (_, jvb), stand_in({}) as (_, jicofo_no_health):
        target = local_target("http://x.invalid", jvb_url=jvb, jicofo_url=jicofo_no_health)
        results = by_name(run_checks(target, only=["jvb-health", "jicofo-health"]))
    assert results["jvb-health"].status == "pass"
    # 404: jicofo health checks disabled -> a warning that names the switch
    assert results["jicofo-health"].status == "warn"
    assert "JICOFO_ENABLE_HEALTH_CHECKS" in results["jicofo-health"].fix
    with stand_in({("GET", "/about/health"): (503, "text/plain", "down")}) as (_, jvb):
        (result,) = run_checks(local_target("http://x.invalid", jvb_url=jvb), only=["jvb-health"])
    assert result.status == "fail"
    assert "unhealthy" in result.cause


def test_per_check_timeout_with_a_sleeping_server() -> None:
    routes = {("GET", "/about/health"): (200, "text/plain", "", 3.0)}
    with stand_in(routes) as (_, jvb):
        target = local_target("http://x.invalid", jvb_url=jvb, timeout=0.5)
        started = time.perf_counter()
        (result,) = run_checks(target, only=["jvb-health"])
        elapsed = time.perf_counter() - started
    assert result.status == "fail"
    assert result.cause == "timed out after 0.5s"
    assert elapsed < 2.0


def test_timeout_is_enforced_even_when_a_check_ignores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def stubborn(target: SmokeTarget, deadline: Deadline) -> Any:
        time.sleep(2.0)  # ignores its deadline on purpose
        return smoke._Outcome("pass", "too late")

    monkeypatch.setitem(smoke._CHECKS, "advertise-ips", stubborn)
    started = time.perf_counter()
    results = run_checks(
        local_target("http://127.0.0.1:9", timeout=0.3), only=["tls-cert", "advertise-ips"]
    )
    elapsed = time.perf_counter() - started
    assert [r.name for r in results] == ["advertise-ips", "tls-cert"]  # fixed order
    assert results[0].status == "fail"
    assert results[0].cause == "timed out after 0.3s"
    assert results[1].status == "skip"
    assert elapsed < 1.5


def test_checks_run_concurrently_and_sequentially() -> None:
    slow = {("GET", "/about/health"): (200, "text/plain", "", 0.4)}
    with stand_in(slow) as (_, jvb), stand_in(slow) as (_, jicofo):
        target = local_target("http://x.invalid", jvb_url=jvb, jicofo_url=jicofo)
        names = ["jicofo-health", "jvb-health"]
        t0 = time.perf_counter()
        together = run_checks(target, only=names)
        t1 = time.perf_counter()
        one_by_one = run_checks(target, only=names, concurrent=False)
        t2 = time.perf_counter()
    assert [r.status for r in together + one_by_one] == ["pass"] * 4
    assert [r.name for r in together] == ["jvb-health", "jicofo-health"]  # CHECK_NAMES order
    assert t1 - t0 < 0.75
    assert t2 - t1 >= 0.8


def test_unknown_check_name_and_bad_url_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        run_checks(HTTP_TARGET, only=["nope"])
    for url in ("ftp://host/", "http://host:notaport/", "localhost:8443"):
        with pytest.raises(ValueError, match="public_url"):
            run_checks(SmokeTarget(public_url=url))


def test_web_down_gives_every_web_check_the_same_cause() -> None:
    port = free_port()
    for scheme, names in (
        ("http", ["web", "config-js", "bosh", "websocket"]),
        ("https", ["web", "tls-cert"]),
    ):
        target = local_target(f"{scheme}://127.0.0.1:{port}")
        results = run_checks(target, only=names)
        want = f"nothing answers on 127.0.0.1:{port}: is the web container running? `inv status`"
        assert [(r.status, r.cause) for r in results] == [("fail", want)] * len(names), results


def test_no_secret_is_printed() -> None:
    port = free_port()
    target = local_target(f"http://admin:hunter2@127.0.0.1:{port}/?jwt=SECRETTOKEN")
    results = run_checks(target)
    console_text = io.StringIO()
    from rich.console import Console

    render_table(results, console=Console(file=console_text, width=200))
    for text in (to_json(results), console_text.getvalue()):
        assert "hunter2" not in text
        assert "SECRETTOKEN" not in text


# --------------------------------------------------------------------------------------------
# compose stand-in for prosody-health and jvb-udp

FAKE_DOCKER = """\
import json, sys
args = sys.argv[1:]
with open({log!r}, "a") as fh:
    fh.write(json.dumps(args) + "\\n")
mode = {mode!r}
if mode == "down":
    print('service "' + args[-2 if args[0] == "port" else 2] + '" is not running', file=sys.stderr)
    sys.exit(1)
if args[0] == "exec":
    if mode == "bad":
        print("HAS ERRORS")
        sys.exit(22)
    print("OK")
elif args[0] == "port":
    if mode == "bad":
        print("no port 10000/udp for container callcenter-jitsi-jvb", file=sys.stderr)
        sys.exit(1)
    print("0.0.0.0:10000")
"""


def fake_compose(tmp_path: Path, mode: str) -> tuple[tuple[str, ...], Path]:
    log = tmp_path / f"argv-{mode}.jsonl"
    script = tmp_path / f"docker-{mode}.py"
    script.write_text(FAKE_DOCKER.format(log=str(log), mode=mode))
    return (sys.executable, str(script)), log


def test_compose_checks(tmp_path: Path) -> None:
    names = ["prosody-health", "jvb-udp"]
    argv, log = fake_compose(tmp_path, "good")
    results = by_name(run_checks(local_target("http://x.invalid", compose_argv=argv), only=names))
    assert results["prosody-health"].status == "pass"
    assert results["jvb-udp"].status == "pass"
    assert "0.0.0.0:10000" in results["jvb-udp"].detail
    calls = sorted(json.loads(line) for line in log.read_text().splitlines())
    assert calls == [
        ["exec", "-T", "jitsi-prosody", "/usr/local/bin/healthcheck.sh"],
        ["port", "--protocol", "udp", "jitsi-jvb", "10000"],
    ]

    argv, _ = fake_compose(tmp_path, "bad")
    results = by_name(run_checks(local_target("http://x.invalid", compose_argv=argv), only=names))
    assert results["prosody-health"].status == "fail"
    assert "error state" in results["prosody-health"].cause
    assert results["jvb-udp"].status == "fail"
    assert results["jvb-udp"].fix == (
        "publish 10000/udp (ports.jvb_media) and open it in the firewall"
    )

    argv, _ = fake_compose(tmp_path, "down")
    results = by_name(run_checks(local_target("http://x.invalid", compose_argv=argv), only=names))
    assert "jitsi-prosody container is not running" in results["prosody-health"].cause
    assert "jitsi-jvb container is not running" in results["jvb-udp"].cause

    remote = by_name(run_checks(local_target("http://x.invalid"), only=names))
    assert remote["prosody-health"].status == remote["jvb-udp"].status == "skip"
    assert "from outside" in remote["jvb-udp"].detail


# --------------------------------------------------------------------------------------------
# advertise-ips (IP-literal public hosts: no DNS needed)


@pytest.mark.parametrize(
    ("url", "ips", "status", "needle"),
    [
        ("http://localhost:8443", (), "pass", "fine for localhost"),
        (
            "http://1.2.3.4:8443",
            (),
            "warn",
            "media will fail when a third participant joins",
        ),
        ("https://1.2.3.4", ("192.168.1.10", "127.0.0.1#10000"), "warn", "only private"),
        ("https://1.2.3.4", ("192.168.1.10", "1.2.3.4#10000"), "pass", ""),
        ("https://192.168.1.10", ("192.168.1.10",), "pass", ""),
        ("https://1.2.3.4", ("1.2.3.4#99999",), "fail", "malformed"),
        ("https://1.2.3.4", ("not-an-ip",), "fail", "malformed"),
        ("https://1.2.3.4", ("fe80::1#12000", "2001:4860::8888"), "pass", ""),
    ],
)
def test_advertise_ips(url: str, ips: tuple[str, ...], status: str, needle: str) -> None:
    (result,) = run_checks(local_target(url, advertise_ips=ips), only=["advertise-ips"])
    assert result.status == status, result
    assert needle in f"{result.detail} {result.cause}"
    if status == "warn" and not ips:
        assert result.fix == "set jvb.advertise_ips to the host's public address"


# --------------------------------------------------------------------------------------------
# TLS


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI missing: cannot make test certificates")
    d = tmp_path_factory.mktemp("certs")
    san = "subjectAltName=IP:127.0.0.1"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out",
        "self.crt", "-days", "30", "-subj", "/CN=127.0.0.1", "-addext", san, cwd=d,
    )  # fmt: skip
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "30", "-subj", "/O=jitsi-stack test CA/CN=test CA", cwd=d,
    )  # fmt: skip
    (d / "san.ext").write_text(san + "\n")
    for name, days in (("long", "60"), ("short", "5")):
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", "/CN=127.0.0.1", cwd=d,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", days, "-extfile", "san.ext", "-out", f"{name}.crt", cwd=d,
        )  # fmt: skip
    return d


def _server_ctx(certs: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / f"{name}.crt", certs / f"{name}.key")
    return ctx


def test_tls_self_signed_fails_and_warns_when_not_verifying(certs: Path) -> None:
    routes = {("GET", "/"): (200, "text/html", INDEX)}
    with stand_in(routes, tls=_server_ctx(certs, "self")) as (_, url):
        strict = by_name(run_checks(local_target(url), only=["web", "tls-cert"]))
        lax = by_name(run_checks(local_target(url, verify_tls=False), only=["web", "tls-cert"]))
    assert strict["tls-cert"].status == "fail"
    assert strict["tls-cert"].cause.startswith("self-signed certificate")
    assert "https.letsencrypt" in strict["tls-cert"].fix
    assert strict["web"].status == "fail"  # the browser path fails for the same reason
    assert lax["tls-cert"].status == "warn"
    assert lax["web"].status == "pass"


@pytest.mark.parametrize(("name", "status"), [("long", "pass"), ("short", "warn")])
def test_tls_expiry(certs: Path, name: str, status: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs / "ca.crt"))  # trust the test CA
    with stand_in({}, tls=_server_ctx(certs, name)) as (_, url):
        (result,) = run_checks(local_target(url), only=["tls-cert"])
    assert result.status == status, result
    assert "expires in" in result.detail
    assert "jitsi-stack test CA" in result.detail


def test_tls_outcome_for_an_expired_certificate() -> None:
    err = ssl.SSLCertVerificationError(1, "certificate verify failed")
    err.verify_code = 10
    err.verify_message = "certificate has expired"
    outcome = smoke._tls_outcome(err, "meet.example.com", verify=True)
    assert outcome.status == "fail"
    assert "expired" in outcome.cause


def test_tls_cert_skips_for_http() -> None:
    (result,) = run_checks(HTTP_TARGET, only=["tls-cert"])
    assert result.status == "skip"


# --------------------------------------------------------------------------------------------
# reporting

SAMPLE = [
    CheckResult("web", "pass", 12.5, "HTTP 200, 5000 bytes"),
    CheckResult("config-js", "fail", 3.25, "websocket=wss://http://x", "the [bug]", "override"),
    CheckResult("advertise-ips", "warn", 0.1, "none", "media will fail", "set it"),
    CheckResult("tls-cert", "skip", 0.0, "plain http"),
]


def test_json_round_trips() -> None:
    text = to_json(SAMPLE)
    assert [CheckResult(**item) for item in json.loads(text)] == SAMPLE


def test_exit_code() -> None:
    assert exit_code(SAMPLE) == 1
    assert exit_code([r for r in SAMPLE if r.status != "fail"]) == 0
    assert exit_code([]) == 0


def test_junit_lists_every_check(tmp_path: Path) -> None:
    port = free_port()
    results = run_checks(local_target(f"http://127.0.0.1:{port}"))
    path = tmp_path / "reports" / "smoke.xml"
    write_junit(results + SAMPLE[2:3], path)
    root = ET.parse(path).getroot()  # noqa: S314 - our own file
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [*CHECK_NAMES, "advertise-ips"]
    assert int(suite.get("tests", "0")) == len(cases)
    for case, result in zip(cases, [*results, SAMPLE[2]], strict=True):
        failure, skipped = case.find("failure"), case.find("skipped")
        assert (failure is not None) == (result.status == "fail")
        assert (skipped is not None) == (result.status == "skip")
        if result.status == "warn":
            assert "WARN" in (case.findtext("system-out") or "")
            assert result.fix in (case.findtext("system-out") or "")
        if failure is not None:
            assert failure.get("message") == result.cause
    assert int(suite.get("failures", "0")) == sum(r.status == "fail" for r in results)


def test_render_table_prints_causes_and_verdict() -> None:
    from rich.console import Console

    console = Console(record=True, width=200, file=io.StringIO())
    render_table(SAMPLE, console=console)
    text = console.export_text()
    for name in ("web", "config-js", "advertise-ips", "tls-cert"):
        assert name in text
    assert "cause: the [bug]" in text  # markup characters are printed, not interpreted
    assert "fix: override" in text
    assert "smoke: FAIL — 1 failed, 1 warned, 1 passed, 1 skipped" in text


# --------------------------------------------------------------------------------------------
# real prosody: BOSH and websocket


@dataclass
class Prosody:
    url: str
    component_port: int
    focus_secret: str
    data_dir: Path
    log: Path
    procs: list[subprocess.Popen] = field(default_factory=list)


PROSODY_CFG = """\
-- jitsi-stack unit test prosody: loopback only, temporary state
run_as_root = true
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
certificates = "{d}/certs"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{d}/prosody.log" }} }}
modules_enabled = {{ "saslauth", "disco", "ping", "bosh", "websocket", "http" }}
modules_disabled = {{ "s2s" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
c2s_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {component} }}
component_interfaces = {{ "127.0.0.1" }}
http_ports = {{ {http} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
s2s_ports = {{ }}
http_default_host = "meet.jitsi"
consider_bosh_secure = true
consider_websocket_secure = true
cross_domain_bosh = true
cross_domain_websocket = true
c2s_require_encryption = false
storage = "internal"

VirtualHost "meet.jitsi"
    authentication = "anonymous"

Component "muc.meet.jitsi" "muc"
    muc_room_locking = false
    muc_room_default_public = true

Component "focus.meet.jitsi"
    component_secret = "{secret}"
"""


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prosody]:
    binary = "/usr/bin/prosody"
    if not Path(binary).exists():
        reason = (
            "!!! REAL-PROSODY BOSH/WEBSOCKET TESTS SKIPPED: /usr/bin/prosody is missing; "
            "install it with `apt-get install -y prosody` !!!"
        )
        if os.environ.get("JITSI_STACK_REQUIRE_PROSODY") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    d = tmp_path_factory.mktemp("prosody")
    (d / "data").mkdir()
    (d / "certs").mkdir()
    http, c2s, component = free_port(), free_port(), free_port()
    secret = secrets.token_hex(16)
    cfg = d / "prosody.cfg.lua"
    cfg.write_text(PROSODY_CFG.format(d=d, c2s=c2s, component=component, http=http, secret=secret))
    out = (d / "stdout.log").open("w")
    proc = subprocess.Popen([binary, "-F", "--config", str(cfg)], stdout=out, stderr=out)
    info = Prosody(f"http://127.0.0.1:{http}", component, secret, d / "data", d / "prosody.log")
    try:
        for _ in range(100):
            if proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", http), 0.2):
                break
            time.sleep(0.1)
        else:
            pytest.fail("prosody did not open its HTTP port")
        if proc.poll() is not None:
            log = info.log.read_text() if info.log.exists() else ""
            pytest.fail(f"prosody exited with {proc.returncode}:\n{log[-2000:]}")
        yield info
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


class FakeFocus(threading.Thread):
    """An XEP-0114 component on focus.meet.jitsi answering conference requests like jicofo.

    Real jicofo answers ready='true' once it has joined the room; this stand-in only answers,
    which is all a plain prosody (without jitsi's join-until-focus lock) needs.
    """

    def __init__(self, prosody: Prosody, ready: bool = True) -> None:
        super().__init__(daemon=True)
        self.prosody = prosody
        self.ready = ready
        self.requests: list[str] = []
        self.connected = threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", prosody.component_port), timeout=5)

    def run(self) -> None:
        parser = ET.XMLPullParser(events=("start", "end"))
        self.sock.sendall(
            b"<stream:stream xmlns='jabber:component:accept' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='focus.meet.jitsi'>"
        )
        depth = 0
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                parser.feed(data)
                for event, el in parser.read_events():
                    if event == "start":
                        depth += 1
                        if depth == 1:
                            digest = hashlib.sha1(  # XEP-0114 handshake is SHA-1 by spec
                                (el.get("id", "") + self.prosody.focus_secret).encode(),
                                usedforsecurity=False,
                            ).hexdigest()
                            self.sock.sendall(f"<handshake>{digest}</handshake>".encode())
                        continue
                    depth -= 1
                    if depth == 1:
                        self._stanza(el)
        except OSError:
            return

    def _stanza(self, el: ET.Element) -> None:
        name = el.tag.rsplit("}", 1)[-1]
        if name == "handshake":
            self.connected.set()
            return
        conf = el.find("{http://jitsi.org/protocol/focus}conference")
        if name == "iq" and el.get("type") == "set" and conf is not None:
            room = conf.get("room", "")
            self.requests.append(room)
            answer = ET.Element(
                "iq",
                {"type": "result", "id": el.get("id", ""), "to": el.get("from", "")},
            )
            answer.set("from", el.get("to", ""))
            ET.SubElement(
                answer,
                "conference",
                {
                    "xmlns": "http://jitsi.org/protocol/focus",
                    "room": room,
                    "ready": "true" if self.ready else "false",
                    "focusjid": "focus@auth.meet.jitsi",
                },
            )
            self.sock.sendall(ET.tostring(answer))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"</stream:stream>")
            self.sock.close()
        self.join(5)


@pytest.fixture
def focus(prosody: Prosody) -> Iterator[FakeFocus]:
    component = FakeFocus(prosody)
    component.start()
    assert component.connected.wait(5), "prosody did not accept the focus component"
    yield component
    component.stop()


def muc_rooms(prosody: Prosody) -> list[str]:
    """disco#items on the MUC service, from a separate anonymous session."""
    return open_rooms(prosody.url + "/http-bind", "meet.jitsi", "muc.meet.jitsi", 5)


def test_disco_items_sees_an_open_room(prosody: Prosody) -> None:
    """Positive control: the 'no rooms left' assertions below can see rooms at all."""
    client = BoshClient(prosody.url + "/http-bind", "meet.jitsi", Deadline(5))
    room = f"control-{secrets.token_hex(4)}@muc.meet.jitsi"
    try:
        client.connect()
        client.login_anonymous()
        client.bind()
        assert "110" in client.join_room(room, "control")
        assert room in muc_rooms(prosody)
        client.leave_room(room, "control")
    finally:
        client.terminate()
    assert room not in muc_rooms(prosody)


def test_bosh_and_websocket_against_real_prosody(prosody: Prosody, focus: FakeFocus) -> None:
    target = local_target(prosody.url, timeout=5.0)
    results = by_name(run_checks(target, only=["bosh", "websocket"]))
    bosh, ws = results["bosh"], results["websocket"]
    assert bosh.status == "pass", bosh
    assert "session → SASL ANONYMOUS → bind → conference request → join → leave" in bosh.detail
    assert "room created" in bosh.detail
    (room,) = focus.requests  # the probe asked the focus first, as jitsi-meet does
    assert room.startswith("jitsi-stack-probe-") and room.endswith("@muc.meet.jitsi")
    assert room.split("@")[0] in bosh.detail
    assert ws.status == "pass", ws
    assert "subprotocol=xmpp" in ws.detail
    assert "ANONYMOUS" in ws.detail
    # nothing left behind: no room, no account
    assert muc_rooms(prosody) == []
    assert not list(prosody.data_dir.rglob("accounts"))


def test_bosh_without_focus_blames_jicofo_and_joins_nothing(prosody: Prosody) -> None:
    (result,) = run_checks(local_target(prosody.url, timeout=5.0), only=["bosh"])
    assert result.status == "fail"
    assert "session → SASL ANONYMOUS → bind ok" in result.detail
    assert "focus.meet.jitsi did not answer the conference request" in result.cause
    assert "jicofo is not connected to prosody" in result.cause
    assert muc_rooms(prosody) == []


def test_bosh_failure_without_any_focus_component() -> None:
    exc = StanzaError("conference request: not-allowed", stage="conference request")
    exc.condition = "not-allowed"
    outcome = smoke._bosh_failure(exc, ["session"], HTTP_TARGET, "http://x/http-bind", "d")
    assert outcome.status == "fail"
    assert "prosody has no focus.meet.jitsi component" in outcome.cause


def test_bosh_focus_not_ready_fails(prosody: Prosody) -> None:
    component = FakeFocus(prosody, ready=False)
    component.start()
    assert component.connected.wait(5)
    try:
        (result,) = run_checks(local_target(prosody.url, timeout=2.0), only=["bosh"])
    finally:
        component.stop()
    assert result.status == "fail"
    assert "ready=false" in result.detail
    assert len(component.requests) >= 2  # retried with the web client's back-off
    assert muc_rooms(prosody) == []


def test_bosh_without_guests_warns(prosody: Prosody) -> None:
    target = local_target(prosody.url, anonymous_domain=None)
    (result,) = run_checks(target, only=["bosh"])
    assert result.status == "warn"
    assert "login skipped" in result.detail


def test_wrong_xmpp_domain_is_explained(prosody: Prosody) -> None:
    target = local_target(prosody.url, xmpp_domain="nope.example", anonymous_domain="nope.example")
    results = by_name(run_checks(target, only=["bosh", "websocket"]))
    for name in ("bosh", "websocket"):
        assert results[name].status == "fail", results[name]
        assert "does not serve the XMPP domain 'nope.example'" in results[name].cause


def test_websocket_and_bosh_routes_missing_on_the_web_container() -> None:
    routes = {("POST", "/http-bind"): (502, "text/html", "<html>Bad Gateway</html>")}
    with stand_in(routes) as (_, url):
        results = by_name(run_checks(local_target(url), only=["bosh", "websocket"]))
        assert "cannot reach prosody" in results["bosh"].cause
        del routes[("POST", "/http-bind")]  # now 404 like a web container without the route
        (bosh404,) = run_checks(local_target(url), only=["bosh"])
    assert results["websocket"].status == "fail"
    assert "HTTP 404" in results["websocket"].detail
    assert "/xmpp-websocket" in results["websocket"].cause
    assert "does not proxy /http-bind" in bosh404.cause


def test_websocket_skips_when_disabled() -> None:
    (result,) = run_checks(
        local_target("http://x.invalid", websocket_enabled=False), only=["websocket"]
    )
    assert result.status == "skip"
