"""The checks and the runner against stand-ins, without Docker or prosody.

HTTP endpoints (web, jicofo, jvb) are small servers on 127.0.0.1 ephemeral ports; Docker
is a stand-in `docker` executable on PATH, run through the real jitsi_stack.docker.Compose
and Runner (so DockerNotInstalled and DockerTimeout are the real ones).
"""

from __future__ import annotations

import io
import json
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jitsi_stack.docker import Compose, Runner
from jitsi_stack.smoke import CHECK_NAMES, SmokeTarget, render_table, run_checks, to_json
from jitsi_stack.smoke import runner as smoke_runner
from jitsi_stack.smoke.checks.xmpp import bosh_failure
from jitsi_stack.smoke.explain import Outcome
from jitsi_stack.smoke.xmpp import Deadline, StanzaError

from .helpers import CUSTOM, INDEX, UPSTREAM, Route, by_name, free_port, local_target, stand_in

HTTP_TARGET = SmokeTarget(public_url="http://localhost:8443")


# -- web and config-js -----------------------------------------------------------------------


def test_web_and_config_js_pass_against_a_good_web_container() -> None:
    with stand_in({}) as (srv, url):
        config = (UPSTREAM + CUSTOM).replace("localhost:8443", url.split("//")[1])
        srv.routes.update(
            {
                ("GET", "/"): (200, "text/html", INDEX),
                ("GET", "/config.js"): (200, "application/javascript", config),
            }
        )
        results = by_name(run_checks(local_target(url), only=["web", "config-js"]))
    assert results["web"].status == "pass", results["web"]
    assert results["config-js"].status == "pass", results["config-js"]


def test_config_js_not_served_fails() -> None:
    with stand_in({("GET", "/"): (200, "text/html", INDEX)}) as (_, url):
        (result,) = run_checks(local_target(url), only=["config-js"])
    assert result.status == "fail"
    assert "HTTP 404" in result.detail
    assert "does not serve config.js" in result.cause


def test_web_redirect_off_host_fails() -> None:
    redirect = (302, "text/html", "", 0, {"Location": "https://evil.example/"})
    with stand_in({("GET", "/"): redirect}) as (_, url):
        (result,) = run_checks(local_target(url), only=["web"])
    assert result.status == "fail"
    assert "evil.example" in result.detail
    assert "another host" in result.cause


def test_web_that_is_not_jitsi_warns() -> None:
    with stand_in({("GET", "/"): (200, "text/html", "<html>nginx welcome</html>")}) as (_, url):
        (result,) = run_checks(local_target(url), only=["web"])
    assert result.status == "warn"
    assert "does not look like Jitsi Meet" in result.cause


# -- focus and the bridges -------------------------------------------------------------------


def _jicofo(ready: Any, seen_bodies: list[dict[str, Any]]) -> Callable[[bytes], Route]:
    def answer(body: bytes) -> Route:
        seen_bodies.append(json.loads(body))
        payload = {"ready": ready, "focusJid": "focus@auth.meet.jitsi"}
        return (200, "application/json", json.dumps(payload))

    return answer


def _stats(operational: int) -> Route:
    stats = {"bridge_selector": {"bridge_count": 3, "operational_bridge_count": operational}}
    return (200, "application/json", json.dumps(stats))


@pytest.mark.parametrize(("ready", "status"), [(False, "fail"), (True, "pass")])
def test_focus_needs_ready_true(ready: bool, status: str) -> None:
    bodies: list[dict[str, Any]] = []
    routes = {
        ("POST", "/conference-request/v1"): _jicofo(ready, bodies),
        ("GET", "/stats"): _stats(1),
    }
    with stand_in(routes) as (srv, jicofo):
        target = local_target("http://127.0.0.1:9", jicofo_url=jicofo)
        (result,) = run_checks(target, only=["focus"])
        headers = srv.seen[0][2]
    assert result.status == status, result
    if status == "fail":
        assert "no bridge" in result.cause
        assert "jvb down or not logged in" in result.cause
    else:
        assert "1 of 1 bridge operational" in result.detail
    # the request has the web client's shape
    (body,) = bodies
    assert body["room"].startswith("jitsi-stack-probe-")
    assert body["room"].endswith("@muc.meet.jitsi")
    assert body["properties"]["visitors-version"] == 1
    assert "machineUid" in body
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("operational", "expected", "status", "needle"),
    [
        (0, 1, "fail", "0 of 1 bridge operational"),
        (1, 1, "pass", "1 of 1 bridge operational"),
        (1, 2, "fail", "1 of 2 bridges operational"),
        (2, 2, "pass", "2 of 2 bridges operational"),
        (3, 2, "pass", "3 of 2 bridges operational"),
    ],
)
def test_focus_counts_operational_bridges(
    operational: int, expected: int, status: str, needle: str
) -> None:
    """ready=true only means focus joined: jicofo's /stats must count the expected bridges."""
    routes = {
        ("POST", "/conference-request/v1"): _jicofo(True, []),
        ("GET", "/stats"): _stats(operational),
    }
    with stand_in(routes) as (_, jicofo):
        target = local_target("http://127.0.0.1:9", jicofo_url=jicofo, expected_bridges=expected)
        (result,) = run_checks(target, only=["focus"])
    assert result.status == status, result
    assert needle in result.detail
    if operational == 0:
        assert "no bridge is logged in" in result.cause
    elif status == "fail":
        assert "1 of the expected bridges are not logged in" in result.cause


def test_focus_passes_when_stats_are_unreadable() -> None:
    with stand_in({("POST", "/conference-request/v1"): _jicofo(True, [])}) as (_, jicofo):
        (result,) = run_checks(local_target("http://x.invalid", jicofo_url=jicofo), only=["focus"])
    assert result.status == "pass"
    assert "operational bridges unknown" in result.detail


def test_focus_403_is_a_warning_and_skip_when_remote() -> None:
    with stand_in({("POST", "/conference-request/v1"): (403, "text/plain", "")}) as (_, jicofo):
        (result,) = run_checks(local_target("http://x.invalid", jicofo_url=jicofo), only=["focus"])
    assert result.status == "warn"
    (skipped,) = run_checks(local_target("http://x.invalid"), only=["focus"])
    assert skipped.status == "skip"


# -- health endpoints ------------------------------------------------------------------------


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


def test_jicofo_health_names_the_operational_bridges() -> None:
    routes = {("GET", "/about/health"): (200, "application/json", ""), ("GET", "/stats"): _stats(1)}
    with stand_in(routes) as (_, jicofo):
        target = local_target("http://x.invalid", jicofo_url=jicofo, expected_bridges=2)
        (result,) = run_checks(target, only=["jicofo-health"])
    assert result.status == "pass"  # the focus check is the one that fails on capacity
    assert result.detail.endswith("; 1 of 2 bridges operational")


def test_service_down_names_the_container() -> None:
    port = free_port()
    target = local_target(
        "http://x.invalid",
        jvb_url=f"http://127.0.0.1:{port}",
        jicofo_url=f"http://127.0.0.1:{port}",
    )
    results = by_name(run_checks(target, only=["jvb-health", "jicofo-health", "focus"]))
    assert "the jvb container is down" in results["jvb-health"].cause
    assert "the jicofo container is down" in results["jicofo-health"].cause
    assert "JICOFO_ENABLE_REST=1" in results["focus"].cause


# -- the runner ------------------------------------------------------------------------------


def test_per_check_timeout_with_a_sleeping_server() -> None:
    routes = {("GET", "/about/health"): (200, "text/plain", "", 20.0)}
    with stand_in(routes) as (_, jvb):
        target = local_target("http://x.invalid", jvb_url=jvb, timeout=0.5)
        started = time.perf_counter()
        (result,) = run_checks(target, only=["jvb-health"])
        elapsed = time.perf_counter() - started
    assert result.status == "fail"
    assert result.cause == "timed out after 0.5s"
    assert result.fix == "jvb is not answering: `inv logs jitsi-jvb`"
    assert elapsed < 10.0  # far below the server's 20 s, with room for a busy machine


def test_timeout_is_enforced_even_when_a_check_ignores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def stubborn(target: SmokeTarget, deadline: Deadline) -> Outcome:
        time.sleep(20.0)  # ignores its deadline on purpose
        return Outcome("pass", "too late")

    monkeypatch.setitem(smoke_runner.CHECKS, "advertise-ips", stubborn)
    started = time.perf_counter()
    results = run_checks(
        local_target("http://127.0.0.1:9", timeout=0.3), only=["tls-cert", "advertise-ips"]
    )
    elapsed = time.perf_counter() - started
    assert [r.name for r in results] == ["advertise-ips", "tls-cert"]  # fixed order
    assert results[0].status == "fail"
    assert results[0].cause == "timed out after 0.3s"
    assert results[0].fix.startswith("DNS resolution of the public host hangs")
    assert results[1].status == "skip"
    assert elapsed < 10.0  # far below the check's 20 s, with room for a busy machine


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


def test_check_names_are_stable() -> None:
    assert CHECK_NAMES == (
        "web",
        "config-js",
        "bosh",
        "websocket",
        "focus",
        "jvb-health",
        "jicofo-health",
        "prosody-health",
        "jvb-udp",
        "advertise-ips",
        "tls-cert",
        "auth",
        "turn",
        "metrics",
    )


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
    from rich.console import Console

    port = free_port()
    target = local_target(f"http://admin:hunter2@127.0.0.1:{port}/?jwt=SECRETTOKEN")
    results = run_checks(target)
    console_text = io.StringIO()
    render_table(results, console=Console(file=console_text, width=200))
    for text in (to_json(results), console_text.getvalue()):
        assert "127.0.0.1" in text  # the URL is shown, without its secrets
        assert "hunter2" not in text
        assert "SECRETTOKEN" not in text


# -- Docker: prosody-health and jvb-udp through jitsi_stack.docker.Compose ---------------------

FAKE_DOCKER = """\
#!{python}
import json, sys, time
args = sys.argv[1:]
with open({log!r}, "a") as fh:
    fh.write(json.dumps(args) + "\\n")
mode = {mode!r}
if mode == "hang":
    time.sleep(60)
if "ps" in args:  # docker compose ... ps --all --format json
    state = "exited" if mode == "down" else "running"
    pubs = [] if mode == "bad" else [
        {{"URL": "0.0.0.0", "TargetPort": 10000, "PublishedPort": 10000, "Protocol": "udp"}}
    ]
    for service in ("jitsi-prosody", "jitsi-jvb"):
        print(json.dumps({{"Service": service, "Name": "cc-" + service, "State": state,
                          "Publishers": pubs if service == "jitsi-jvb" else []}}))
elif args[0] == "exec":
    if mode == "bad":
        print("HAS ERRORS")
        sys.exit(22)
    print("OK")
"""


def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str) -> tuple[Compose, Path]:
    """A Compose whose `docker` is a stand-in script (PATH holds only it). DOCKER_HOST names
    a TCP daemon, so the container list comes from the CLI, not the local Engine API."""
    bin_dir = tmp_path / f"bin-{mode}"
    bin_dir.mkdir()
    log = tmp_path / f"argv-{mode}.jsonl"
    script = bin_dir / "docker"
    script.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log), mode=mode))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    compose = Compose(
        runner=Runner(),
        root=tmp_path,
        project="jstest",
        files=(tmp_path / "docker-compose.yml",),
        env_file=tmp_path / ".env",
    )
    return compose, log


COMPOSE_CHECKS = ["prosody-health", "jvb-udp"]


def test_compose_checks_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose, log = fake_docker(tmp_path, monkeypatch, "good")
    target = local_target("http://x.invalid", compose=compose)
    results = by_name(run_checks(target, only=COMPOSE_CHECKS))
    assert results["prosody-health"].status == "pass", results["prosody-health"]
    assert results["prosody-health"].detail == "healthcheck.sh in jitsi-prosody: OK"
    assert results["jvb-udp"].status == "pass"
    assert "0.0.0.0:10000" in results["jvb-udp"].detail
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert ["exec", "cc-jitsi-prosody", "/usr/local/bin/healthcheck.sh"] in calls
    assert sum(1 for c in calls if c[:2] == ["compose", "--project-directory"]) == 2  # ps, ps


def test_compose_checks_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose, _ = fake_docker(tmp_path, monkeypatch, "bad")
    results = by_name(run_checks(local_target("http://x", compose=compose), only=COMPOSE_CHECKS))
    assert results["prosody-health"].status == "fail"
    assert "error state" in results["prosody-health"].cause
    assert results["jvb-udp"].status == "fail"
    assert results["jvb-udp"].fix == (
        "publish 10000/udp (ports.jvb_media) and open it in the firewall"
    )


def test_compose_checks_container_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose, _ = fake_docker(tmp_path, monkeypatch, "down")
    results = by_name(run_checks(local_target("http://x", compose=compose), only=COMPOSE_CHECKS))
    assert "jitsi-prosody container is not running" in results["prosody-health"].cause
    assert "jitsi-jvb container is not running" in results["jvb-udp"].cause


def test_compose_checks_docker_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose, _ = fake_docker(tmp_path, monkeypatch, "good")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    results = by_name(run_checks(local_target("http://x", compose=compose), only=COMPOSE_CHECKS))
    for name in COMPOSE_CHECKS:
        assert results[name].status == "fail"
        assert results[name].detail == "docker not found on PATH"
        assert "not installed" in results[name].cause


def test_compose_checks_docker_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compose, _ = fake_docker(tmp_path, monkeypatch, "hang")
    started = time.perf_counter()
    target = local_target("http://x", compose=compose, timeout=1.0)
    results = by_name(run_checks(target, only=COMPOSE_CHECKS))
    assert time.perf_counter() - started < 20.0  # far below the hang, room for a busy machine
    assert results["prosody-health"].cause == "timed out after 1s"
    assert "`docker exec` hangs" in results["prosody-health"].fix
    assert "listing the containers hangs" in results["jvb-udp"].fix


def test_compose_checks_skip_when_remote() -> None:
    remote = by_name(run_checks(local_target("http://x.invalid"), only=COMPOSE_CHECKS))
    assert remote["prosody-health"].status == remote["jvb-udp"].status == "skip"
    assert "from outside" in remote["jvb-udp"].detail


# -- advertise-ips (IP-literal public hosts: no DNS needed) ----------------------------------


@pytest.mark.parametrize(
    ("url", "ips", "status", "needle"),
    [
        ("http://localhost:8443", (), "pass", "fine for localhost"),
        ("http://1.2.3.4:8443", (), "warn", "media will fail when a third participant joins"),
        ("https://1.2.3.4", ("192.168.1.10", "127.0.0.1#10000"), "warn", "only private"),
        ("https://1.2.3.4", ("192.168.1.10", "1.2.3.4#10000"), "pass", ""),
        ("https://192.168.1.10", ("192.168.1.10",), "pass", ""),
        ("https://1.2.3.4", ("1.2.3.4#99999",), "fail", "malformed"),
        ("https://1.2.3.4", ("not-an-ip",), "fail", "malformed"),
        ("https://1.2.3.4", ("fe80::1#12000", "2001:4860::8888"), "pass", ""),
        # documentation and benchmarking ranges stand in for public addresses
        ("https://203.0.113.10", ("203.0.113.10",), "pass", ""),
        ("https://203.0.113.10", ("10.0.0.5",), "warn", "only private"),
        ("https://1.2.3.4", ("198.18.0.1#10000",), "pass", ""),
        ("https://1.2.3.4", ("2001:db8::1",), "pass", ""),
        ("https://1.2.3.4", ("2001:db8::1#10000",), "pass", ""),
        # jvb hands the address to ice4j as written: IPv6 is written without brackets
        ("https://1.2.3.4", ("[2001:db8::1]",), "fail", "malformed"),
        ("https://1.2.3.4", ("[2001:db8::1]#10000",), "fail", "malformed"),
        ("https://1.2.3.4", (" 1.2.3.4",), "fail", "malformed"),
    ],
)
def test_advertise_ips(url: str, ips: tuple[str, ...], status: str, needle: str) -> None:
    (result,) = run_checks(local_target(url, advertise_ips=ips), only=["advertise-ips"])
    assert result.status == status, result
    assert needle in f"{result.detail} {result.cause}"
    if status == "warn" and not ips:
        assert result.fix == "set jvb.advertise_ips to the host's public address"
    if status == "fail":
        assert "IPv6 without brackets" in result.fix


# -- TLS -------------------------------------------------------------------------------------


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
    assert "expires 20" in result.detail and " days)" in result.detail
    assert "jitsi-stack test CA" in result.detail


def test_tls_cert_skips_for_http() -> None:
    (result,) = run_checks(HTTP_TARGET, only=["tls-cert"])
    assert result.status == "skip"


# -- BOSH and websocket without prosody ------------------------------------------------------


def test_websocket_and_bosh_routes_missing_on_the_web_container() -> None:
    routes: dict = {("POST", "/http-bind"): (502, "text/html", "<html>Bad Gateway</html>")}
    with stand_in(routes) as (_, url):
        results = by_name(run_checks(local_target(url), only=["bosh", "websocket"]))
        assert "cannot reach prosody" in results["bosh"].cause
        del routes[("POST", "/http-bind")]  # now 404 like a web container without the route
        (bosh404,) = run_checks(local_target(url), only=["bosh"])
    assert results["websocket"].status == "fail"
    assert "HTTP 404" in results["websocket"].detail
    assert "/xmpp-websocket" in results["websocket"].cause
    assert "does not proxy /http-bind" in bosh404.cause


def test_bosh_answered_by_a_web_page_is_not_bosh() -> None:
    routes = {("POST", "/http-bind"): (200, "text/html", INDEX)}
    with stand_in(routes) as (_, url):
        (result,) = run_checks(local_target(url), only=["bosh"])
    assert result.status == "fail"
    assert "does not speak BOSH" in result.cause


def test_bosh_failure_without_any_focus_component() -> None:
    exc = StanzaError("conference request: not-allowed", stage="conference request")
    exc.condition = "not-allowed"
    outcome = bosh_failure(exc, ["session"], HTTP_TARGET, "http://x/http-bind", "d")
    assert outcome.status == "fail"
    assert "prosody has no focus.meet.jitsi component" in outcome.cause


def test_websocket_skips_when_disabled() -> None:
    (result,) = run_checks(
        local_target("http://x.invalid", websocket_enabled=False), only=["websocket"]
    )
    assert result.status == "skip"
