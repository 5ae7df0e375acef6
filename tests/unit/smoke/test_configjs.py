"""config.js through QuickJS: what a browser's page would see, and how the check judges it.

The fixture data/stable-11146-2-config.js is upstream's served config.js for
PUBLIC_URL=http://localhost:8443: docker-jitsi-meet tag stable-11146-2,
web/rootfs/defaults/system-config.js followed by web/rootfs/defaults/settings-config.js
(concatenated as web/rootfs/etc/s6-overlay/scripts/config does), rendered with upstream's
defaults plus XMPP_DOMAIN=meet.jitsi, XMPP_MUC_DOMAIN=muc.meet.jitsi, ENABLE_AUTH=0,
ENABLE_GUESTS=1, ENABLE_XMPP_WEBSOCKET=1, and with nginx's SSI applied as
web/rootfs/defaults/meet.conf does for /config.js (`ssi on`, no `$subdir` set there, so
`<!--# echo var="subdir" default="" -->` becomes ''). Upstream trims a literal 'https://'
from PUBLIC_URL, so this file carries the 'https://http://' and 'wss://http://' bug.
It was rendered once by a throwaway script implementing the few template functions these
two files use (default, toBool, not, trimPrefix, trimSuffix, split, printf, or, join);
no_subdomains() below rebuilds the ENABLE_SUBDOMAINS=false branch of system-config.js and
was compared with the same script's render of that setting.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from jitsi_stack.smoke import SmokeTarget, run_checks
from jitsi_stack.smoke.configjs import (
    ConfigJs,
    ConfigJsError,
    error_outcome,
    evaluate_config_js,
    judge_config_js,
    page,
)

from .helpers import CUSTOM, UPSTREAM, stand_in

PAGE = "http://localhost:8443/"
HTTP_TARGET = SmokeTarget(public_url="http://localhost:8443")

# system-config.js with ENABLE_SUBDOMAINS=false: no `var subdir`, no `var subdomain`
_SUBDOMAIN_BLOCK = re.compile(r"var subdir = .*?config\.hosts\.muc = [^\n]*\n", re.S)
NO_SUBDOMAINS_HEAD = (
    "config.hosts.muc = 'muc.meet.jitsi';\n"
    "config.bosh = 'https://http://localhost:8443/http-bind';\n"
    "config.websocket = 'wss://http://localhost:8443/xmpp-websocket';\n"
)


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, f"fixture no longer contains {old!r}"
    return text.replace(old, new)


def no_subdomains(text: str) -> str:
    """The fixture as upstream renders it with ENABLE_SUBDOMAINS=false."""
    head, count = _SUBDOMAIN_BLOCK.subn("", text, count=1)
    assert count == 1
    head = replaced(
        head, "config.bosh = 'https://http://localhost:8443/' + subdir + 'http-bind';\n", ""
    )
    head = replaced(
        head, "config.websocket = 'wss://http://localhost:8443/' + subdir + 'xmpp-websocket';\n", ""
    )
    return replaced(head, "config.bridgeChannel", NO_SUBDOMAINS_HEAD + "config.bridgeChannel")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# -- evaluating -------------------------------------------------------------------------


def test_upstream_config_with_our_custom_config_passes() -> None:
    cfg = evaluate_config_js(UPSTREAM + CUSTOM, PAGE)
    assert cfg == ConfigJs(
        domain="meet.jitsi",
        muc="muc.meet.jitsi",
        bosh="http://localhost:8443/http-bind",
        websocket="ws://localhost:8443/xmpp-websocket",
    )
    outcome = judge_config_js(cfg, HTTP_TARGET)
    assert outcome.status == "pass", outcome
    assert "websocket=ws://localhost:8443/xmpp-websocket" in outcome.detail


def test_upstream_config_alone_has_the_wss_http_bug() -> None:
    cfg = evaluate_config_js(UPSTREAM, PAGE)
    assert cfg.websocket == "wss://http://localhost:8443/xmpp-websocket"
    assert cfg.bosh == "https://http://localhost:8443/http-bind"
    outcome = judge_config_js(cfg, HTTP_TARGET)
    assert outcome.status == "fail"
    assert "'wss://http://…'" in outcome.cause
    assert "'https://http://…'" in outcome.cause
    assert "config.websocket = 'ws://localhost:8443/xmpp-websocket'" in outcome.fix
    assert "config.bosh = 'http://localhost:8443/http-bind'" in outcome.fix


def test_ssi_not_applied_falls_back_to_an_empty_subdir() -> None:
    """Without SSI the tenant variable stays an HTML comment; upstream's own guard empties it."""
    raw = replaced(
        UPSTREAM, "var subdir = '';", 'var subdir = \'<!--# echo var="subdir" default="" -->\';'
    )
    cfg = evaluate_config_js(raw + CUSTOM, PAGE)
    assert cfg.bosh == "http://localhost:8443/http-bind"
    assert cfg.muc == "muc.meet.jitsi"


def test_a_tenant_subdomain_changes_the_muc_like_a_browser_would() -> None:
    tenant = replaced(UPSTREAM, "var subdomain = '';", "var subdomain = 'Sales.Team.';")
    assert evaluate_config_js(tenant, PAGE).muc == "muc.sales_team.meet.jitsi"


def test_https_upstream_default_passes() -> None:
    text = UPSTREAM.replace("http://localhost:8443", "meet.example.com")
    outcome = judge_config_js(
        evaluate_config_js(text, "https://meet.example.com/"),
        SmokeTarget(public_url="https://meet.example.com"),
    )
    assert outcome.status == "pass", outcome
    assert "bosh=https://meet.example.com/http-bind" in outcome.detail


def test_if_false_branch_is_not_taken() -> None:
    text = (
        "var config = { bosh: '/http-bind' };\n"
        "if (false) { config.bosh = 'https://evil.example/http-bind'; }\n"
        "if (location.protocol === 'ftp:') config.websocket = 'ws://evil.example/';\n"
    )
    cfg = evaluate_config_js(text, PAGE)
    assert cfg.bosh == "/http-bind"
    assert cfg.websocket is None


def test_object_assign_is_seen() -> None:
    text = (
        "var config = { hosts: {} };\n"
        "Object.assign(config, { bosh: '/other-bind', websocket: 'ws://a.example/ws' });\n"
        "Object.assign(config.hosts, { domain: 'x.example', muc: 'conference.x.example' });\n"
    )
    cfg = evaluate_config_js(text, PAGE)
    assert (cfg.bosh, cfg.websocket) == ("/other-bind", "ws://a.example/ws")
    assert (cfg.domain, cfg.muc) == ("x.example", "conference.x.example")


@pytest.mark.parametrize(
    ("page_url", "want"),
    [
        ("http://localhost:8443/", "ws://localhost:8443/xmpp-websocket"),
        ("https://meet.example.com/", "wss://meet.example.com/xmpp-websocket"),
    ],
)
def test_ternaries_are_evaluated_against_the_page(page_url: str, want: str) -> None:
    text = (
        "var config = {};\n"
        "config.websocket = (location.protocol === 'https:' ? 'wss://' : 'ws://')\n"
        "    + window.location.host + '/xmpp-websocket';\n"
        "config.bosh = document.location.protocol === 'https:' ? undefined : '/http-bind';\n"
    )
    cfg = evaluate_config_js(text, page_url)
    assert cfg.websocket == want
    assert cfg.bosh == (None if page_url.startswith("https") else "/http-bind")


def test_the_page_is_a_browser_page() -> None:
    text = (
        "var config = {};\n"
        "if (window !== globalThis || self !== window) throw new Error('not a page');\n"
        "config.bosh = [location.href, location.origin, location.hostname, location.port,\n"
        "               location.pathname, String(location), document.URL].join(' ');\n"
    )
    cfg = evaluate_config_js(text, "http://admin:hunter2@localhost:8443/room?jwt=SECRET#x")
    assert cfg.bosh == (
        "http://localhost:8443/ http://localhost:8443 localhost 8443 / "
        "http://localhost:8443/ http://localhost:8443/"
    )
    assert page("https://meet.example.com:443/")["host"] == "meet.example.com"
    assert page("https://[2001:db8::1]:8443/")["hostname"] == "[2001:db8::1]"


def test_last_assignment_wins_and_delete_unsets() -> None:
    text = UPSTREAM + CUSTOM + "delete config.websocket;\nconfig.hosts = { domain: 'd.example' };\n"
    cfg = evaluate_config_js(text, PAGE)
    assert cfg.websocket is None
    assert (cfg.domain, cfg.muc) == ("d.example", None)


def test_a_script_cannot_break_the_read_back() -> None:
    text = "let config = { bosh: '/http-bind' };\nvar JSON = null;\nObject.prototype.bosh = 'x';\n"
    assert evaluate_config_js(text, PAGE).bosh == "/http-bind"


def test_non_string_values_are_reported() -> None:
    cfg = evaluate_config_js("var config = { bosh: 42, websocket: ['ws://a/'] };", PAGE)
    assert cfg.types == {"bosh": "number", "websocket": "array"}
    outcome = judge_config_js(cfg, HTTP_TARGET)
    assert outcome.status == "fail"
    assert "config.bosh is a number, not a string" in outcome.cause
    assert "config.websocket is an array, not a string" in outcome.cause


def test_no_config_object_fails() -> None:
    cfg = evaluate_config_js("var settings = {};", PAGE)
    assert not cfg.defined
    outcome = judge_config_js(cfg, HTTP_TARGET)
    assert outcome.status == "fail"
    assert "no `config` object" in outcome.detail


def test_promise_jobs_run_after_the_script_like_microtasks() -> None:
    text = "var config = {};\nPromise.resolve().then(function () { config.bosh = '/late'; });\n"
    assert evaluate_config_js(text, PAGE).bosh == "/late"


def test_contexts_are_per_thread_and_independent() -> None:
    results: dict[int, str | None] = {}

    def run(i: int) -> None:
        text = f"var config = {{}}; config.bosh = '/bind-{i}-' + location.port;"
        results[i] = evaluate_config_js(text, f"http://localhost:{9000 + i}/").bosh

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {i: f"/bind-{i}-{9000 + i}" for i in range(8)}


# -- scripts that do not run to their end ----------------------------------------------------


def test_subdir_without_subdomains_is_a_reference_error() -> None:
    """ENABLE_SUBDOMAINS=false drops upstream's `var subdir`; our custom-config.js uses it."""
    text = no_subdomains(UPSTREAM) + CUSTOM
    with pytest.raises(ConfigJsError) as info:
        evaluate_config_js(text, PAGE)
    err = info.value
    assert err.kind == "ReferenceError"
    assert "subdir" in err.message
    assert err.line == line_of(text, "config.bosh = 'http://localhost:8443/' + subdir")
    assert err.source.startswith("config.bosh = 'http://localhost:8443/'")
    outcome = error_outcome(err, HTTP_TARGET)
    assert outcome.status == "fail"
    assert f"ReferenceError at line {err.line}: subdir is not defined" in outcome.detail
    assert "ENABLE_SUBDOMAINS" in outcome.cause
    assert "leave ENABLE_SUBDOMAINS on" in outcome.fix
    assert "without `subdir`" in outcome.fix
    # and without our file the same upstream output evaluates (and has the upstream bug)
    assert evaluate_config_js(no_subdomains(UPSTREAM), PAGE).bosh == (
        "https://http://localhost:8443/http-bind"
    )


def test_syntax_error_names_message_and_line() -> None:
    text = UPSTREAM + CUSTOM + "config.p2p = { enabled: true,,\n"
    with pytest.raises(ConfigJsError) as info:
        evaluate_config_js(text, PAGE)
    err = info.value
    assert err.kind == "SyntaxError"
    assert err.line == len(text.splitlines())
    outcome = error_outcome(err, HTTP_TARGET)
    assert outcome.status == "fail"
    assert outcome.detail.startswith(f"SyntaxError at line {err.line}: ")
    assert "not valid JavaScript" in outcome.cause
    assert "web.custom_config_js" in outcome.fix


def test_type_error_names_message_and_line() -> None:
    text = "var config = {};\n\nconfig.hosts.domain = 'x';\n"
    with pytest.raises(ConfigJsError) as info:
        evaluate_config_js(text, PAGE)
    outcome = error_outcome(info.value, HTTP_TARGET)
    assert info.value.kind == "TypeError"
    assert info.value.line == 3
    assert outcome.status == "fail"
    assert "TypeError at line 3" in outcome.detail
    assert "config.hosts.domain = 'x';" in outcome.detail
    assert "config.js throws TypeError at line 3" in outcome.cause


def test_an_endless_loop_is_stopped_by_the_time_limit() -> None:
    text = "var config = {};\nwhile (true) { config.n = (config.n || 0) + 1; }\n"
    started = time.perf_counter()
    with pytest.raises(ConfigJsError) as info:
        evaluate_config_js(text, PAGE, time_limit=0.2)
    elapsed = time.perf_counter() - started
    assert info.value.kind == "timeout"
    assert info.value.line == 2
    assert elapsed < 15  # 0.2 s of CPU; wall time stretches on a busy machine
    outcome = error_outcome(info.value, HTTP_TARGET)
    assert outcome.status == "fail"
    assert "did not finish" in outcome.detail
    assert "endless loop" in outcome.cause


def test_runaway_allocation_is_stopped_by_the_memory_limit() -> None:
    text = "var config = {}, a = [];\nwhile (true) { a.push('x'.repeat(1000) + a.length); }\n"
    with pytest.raises(ConfigJsError) as info:
        evaluate_config_js(text, PAGE, memory_limit=8 * 1024 * 1024)
    assert info.value.kind == "memory"
    assert "8 MB" in info.value.message
    assert error_outcome(info.value, HTTP_TARGET).status == "fail"


# -- judging ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "target", "needle"),
    [
        ("config.hosts.domain = 'other.jitsi';", HTTP_TARGET, "hosts.domain is 'other.jitsi'"),
        ("config.hosts.muc = 'conference.meet.jitsi';", HTTP_TARGET, "hosts.muc"),
        ("config.bosh = 'https://elsewhere.example/http-bind';", HTTP_TARGET, "config.bosh"),
        ("config.websocket = 'wss://localhost:8443/xmpp-websocket';", HTTP_TARGET, "wss://"),
        ("config.websocket = 'ws://otherhost:8443/xmpp-websocket';", HTTP_TARGET, "otherhost"),
        (
            "config.websocket = 'ws://meet.example.com/xmpp-websocket';config.bosh = '/http-bind';",
            SmokeTarget(public_url="https://meet.example.com"),
            "mixed content",
        ),
        ("delete config.websocket;", HTTP_TARGET, "no websocket URL"),
        ("config.bosh = '';", HTTP_TARGET, "sets no BOSH URL"),
    ],
)
def test_mismatches_fail(extra: str, target: SmokeTarget, needle: str) -> None:
    text = UPSTREAM + CUSTOM + extra + "\n"
    page_url = target.public_url + "/"
    outcome = judge_config_js(evaluate_config_js(text, page_url), target)
    assert outcome.status == "fail", outcome
    assert needle in outcome.cause
    assert outcome.fix


def test_websocket_url_while_disabled_warns() -> None:
    target = SmokeTarget(public_url="http://localhost:8443", websocket_enabled=False)
    outcome = judge_config_js(evaluate_config_js(UPSTREAM + CUSTOM, PAGE), target)
    assert outcome.status == "warn"
    assert "websocket is disabled in the settings" in outcome.cause


def test_detail_hides_credentials_and_queries() -> None:
    text = "var config = {hosts: {domain: 'meet.jitsi', muc: 'muc.meet.jitsi'}};\n"
    text += "config.bosh = 'http://u:pw@localhost:8443/http-bind?token=SECRET';\n"
    text += "config.websocket = 'ws://localhost:8443/xmpp-websocket?token=SECRET';\n"
    outcome = judge_config_js(evaluate_config_js(text, PAGE), HTTP_TARGET)
    assert outcome.status == "pass", outcome
    assert "SECRET" not in outcome.detail
    assert "pw" not in outcome.detail


# -- through the check -----------------------------------------------------------------------


def _serve_config(text: str, **target: object) -> tuple[object, str]:
    with stand_in({}) as (srv, url):
        hostport = url.split("//")[1]
        srv.routes[("GET", "/config.js")] = (
            200,
            "application/javascript",
            text.replace("localhost:8443", hostport),
        )
        (result,) = run_checks(
            SmokeTarget(public_url=url, jicofo_url=None, jvb_url=None, **target),  # type: ignore[arg-type]
            only=["config-js"],
        )
    return result, hostport


def test_check_passes_with_our_custom_config() -> None:
    result, hostport = _serve_config(UPSTREAM + CUSTOM, timeout=3.0)
    assert result.status == "pass", result
    assert f"websocket=ws://{hostport}/xmpp-websocket" in result.detail


def test_check_reports_the_upstream_bug_over_http() -> None:
    result, hostport = _serve_config(UPSTREAM, timeout=3.0)
    assert result.status == "fail"
    assert "wss://http://" in result.cause
    assert f"ws://{hostport}/xmpp-websocket" in result.fix


def test_check_reports_subdir_without_subdomains() -> None:
    result, _ = _serve_config(no_subdomains(UPSTREAM) + CUSTOM, timeout=3.0)
    assert result.status == "fail"
    assert "ReferenceError" in result.detail
    assert "ENABLE_SUBDOMAINS" in result.cause


def test_check_stops_an_endless_loop_within_its_timeout() -> None:
    # QuickJS's limit counts this process's CPU time (JS_TIME_LIMIT, 2 s); the check's
    # deadline counts wall time. On a busy machine 2 s of CPU take far longer than 2 s of
    # wall time, so a short deadline would win the race and hide the loop: give the check
    # a deadline no machine reaches, and show that the loop, not the deadline, ended it.
    started = time.perf_counter()
    result, _ = _serve_config("var config = {};\nfor (;;) {}\n", timeout=60.0)
    assert time.perf_counter() - started < 60
    assert result.status == "fail"
    assert "did not finish" in result.detail
