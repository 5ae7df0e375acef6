"""Embedding in a real browser (issue 22): Debian's Chromium, driven by Playwright, opens a
small frontend served from another origin that embeds a meeting with a plain
<script src=https://.../external_api.js> + new JitsiMeetExternalAPI(...), as the platform's
frontend does. The stack runs with the development defaults: plain http on one port, https
with the development CA on the next, frame-ancestors from frontend.origins.

What upstream does and the stand-in repeats (tests/testbed/images/web/external_api.js and
api.js cite it): @jitsi/react-sdk loads `https://${domain}/external_api.js` (jitsi-meet-react-sdk
2ed0c08e src/init.ts); the IFrame API's iframe is `https://${domain}/<room>#jitsi_meet_external_api_id=N`
(jitsi-meet modules/API/external/external_api.js generateURL, no noSSL); the meeting page's
API.init() sends the `ready` event through postis in scope jitsi_meet_external_api_N.

The browser itself decides: the certificate (trusted only through the CA's SPKI, given to
Chromium), the secure context, and the frame refused for an origin frontend.origins does not
name (Chromium's own console line). A missing browser fails with JSTEST_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.project import inv, started_stack

pytestmark = pytest.mark.docker

PROJECT = "jsembed"
HTTP, HTTPS = 26043, 26044
FRONT, OTHER = 26100, 26101  # the allowed frontend origin, and one frontend.origins lacks
PLAIN = 26102  # a frontend that names the plain-http endpoint (a page of its own: no cache)
REACT = 26103  # the React frontend, a second origin frontend.origins names
# The testbed images of this tree ("good"); on an engine several work trees share, a tag of
# one's own build (docker tag ...:good ...:mine) keeps another tree's rebuild out of the run.
TAG = os.environ.get("JSTEST_EMBED_TAG", "good")
SETTINGS = f"""
project_name: {PROJECT}
container_prefix: {PROJECT}
network: {{name: {PROJECT}-network}}
public_url: http://localhost:{HTTP}
ports: {{http: {HTTP}, https: {HTTPS}, jvb_media: 12600, jvb_colibri: 26080, jicofo_rest: 26088}}
images: {{repository: jitsi-stack-testbed, tag: {TAG}}}
health: {{timeout: 120, interval: 2}}
frontend: {{env_file: front/.env.local, origins: ['http://localhost:{FRONT}', 'http://localhost:{REACT}']}}
"""
ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts"
READY_SCOPE = "jitsi_meet_external_api_0"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>call center frontend</title></head>
<body>
<h1>Agent desk</h1>
<div id="meet" style="width: 960px; height: 540px"></div>
<script>
  // what the embedder's window receives from the meeting frame: postis envelopes
  window.__ready = null;
  window.__scriptError = null;
  window.addEventListener('message', function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (data && data.postis && data.scope === '%(scope)s' && data.method === 'message'
        && data.params && data.params.type === 'event' && data.params.data
        && data.params.data.name === 'ready') {
      window.__ready = event.origin;
    }
  });
</script>
<script src="https://%(domain)s/external_api.js"
        onerror="window.__scriptError = this.src"></script>
<script>
  if (window.JitsiMeetExternalAPI) {
    window.api = new JitsiMeetExternalAPI('%(domain)s', {
      roomName: 'agent-42',
      parentNode: document.getElementById('meet')
    });
  }
</script>
</body></html>
"""


REACT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>call center frontend (React)</title></head>
<body><h1>Agent desk (React)</h1><div id="meet" style="width: 960px"></div>
<script>
  window.JITSI_DOMAIN = '%(domain)s';
  window.__ready = null;
  window.addEventListener('message', function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (data && data.postis && data.scope === '%(scope)s' && data.params
        && data.params.type === 'event' && data.params.data.name === 'ready') {
      window.__ready = event.origin;
    }
  });
</script>
<script src="bundle.js"></script>
</body></html>
"""
# The platform's JitsiCall, reduced: the real @jitsi/react-sdk from npm, bundled by esbuild.
REACT_ENTRY = """
import React from 'react';
import { createRoot } from 'react-dom/client';
import { JitsiMeeting } from '@jitsi/react-sdk';

createRoot(document.getElementById('meet')).render(
  <JitsiMeeting
    domain={window.JITSI_DOMAIN}
    roomName="agent-42"
    getIFrameRef={(node) => { node.style.height = '540px'; }}
  />
);
"""
REACT_SDK = "1.4.4"  # the version the issue names; its src/init.ts loads https://${domain}/...


@pytest.fixture(scope="module")
def react_bundle(tmp_path_factory) -> Path:
    """The real @jitsi/react-sdk (npm), React 18 and esbuild, bundled once for the test."""
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        message = "the React test needs npm (Debian: apt-get install npm)"
        if os.environ.get("JSTEST_REQUIRE_DOCKER") == "1":
            pytest.fail(message)
        pytest.skip("SKIPPED: " + message)
    folder = tmp_path_factory.mktemp("react")
    (folder / "entry.jsx").write_text(REACT_ENTRY)
    packages = [f"@jitsi/react-sdk@{REACT_SDK}", "react@18", "react-dom@18", "esbuild@0"]
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", *packages],
        cwd=folder, check=True, timeout=600,
    )  # fmt: skip
    subprocess.run(
        [str(folder / "node_modules/.bin/esbuild"), "entry.jsx", "--bundle", "--minify",
         "--outfile=bundle.js", "--define:process.env.NODE_ENV=\"production\""],
        cwd=folder, check=True, timeout=120,
    )  # fmt: skip
    return folder / "bundle.js"


def chromium_path() -> str | None:
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or ""):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _browser_or_fail():
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = []
    if path is None:
        missing.append("Debian's chromium (apt-get install chromium)")
    if sync_playwright is None:
        missing.append("Playwright for Python (pip install playwright)")
    if missing:
        message = "SKIPPED: the browser test needs " + " and ".join(missing)
        if os.environ.get("JSTEST_REQUIRE_DOCKER") == "1":
            pytest.fail(message.replace("SKIPPED: ", ""))
        pytest.skip(message)
    return path, sync_playwright


class _DualStack(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


@contextlib.contextmanager
def frontend(folder: Path, port: int, domain: str, bundle: Path | None = None):
    """The platform's frontend: one static page, python's http.server, on another origin;
    with bundle, the React page that loads it."""
    folder.mkdir(parents=True, exist_ok=True)
    page = PAGE if bundle is None else REACT_PAGE
    (folder / "index.html").write_text(page % {"domain": domain, "scope": READY_SCOPE})
    if bundle is not None:
        shutil.copy(bundle, folder / "bundle.js")
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = _DualStack(("::", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{{}}:{port}/"
    finally:
        server.shutdown()
        server.server_close()


def spki_of(pem: bytes) -> str:
    """base64(sha256(SubjectPublicKeyInfo)): Chromium's --ignore-certificate-errors-spki-list
    form. Given the development CA's, Chromium accepts exactly the chains that CA signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(pem).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


PRODUCTION = (
    SETTINGS.replace(
        f"public_url: http://localhost:{HTTP}", f"public_url: https://localhost:{HTTPS}"
    )
    + "https: {enabled: true, certificate: {cert: certs/site.crt, key: certs/site.key}}\n"
)


def site_certificate(base: Path) -> bytes:
    """A production-shaped site certificate for localhost, from a CA of this test's own (the
    operator's certificate, as docs/call-center.md section 5 takes it); returns that CA."""
    import datetime as dt

    from jitsi_stack.store import devca

    now = dt.datetime.now(dt.UTC)
    ca, ca_key, ca_pem = devca._make_ca(now)
    _leaf, leaf_pem, key_pem = devca._make_server(ca, ca_key, ("localhost",), now)
    (base / "certs").mkdir(exist_ok=True)
    (base / "certs/site.crt").write_bytes(leaf_pem + ca_pem)
    (base / "certs/site.key").write_bytes(key_pem)
    (base / "certs/site.key").chmod(0o600)
    return ca_pem


@pytest.fixture(scope="module", params=["development", "production"])
def stack(request, tmp_path_factory, testbed_images):
    """The same frontend against the development defaults (the development CA) and against a
    production-shaped settings file with its own certificate; one stack at a time."""
    import subprocess

    from jitsi_stack.store import devca

    image = f"jitsi-stack-testbed/web:{TAG}"
    probe = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "test", image, "-f",
         "/usr/share/jitsi-meet/libs/external_api.min.js"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert probe.returncode == 0, (
        f"{image} has no /external_api.js: it is older than this tree: "
        "python -m tests.testbed.build --only web"
    )
    folder = tmp_path_factory.mktemp(f"embed-{request.param}") / "project"
    folder.mkdir()
    (folder / "front").mkdir()
    if request.param == "production":
        ca = site_certificate(folder)
        settings = PRODUCTION
    else:
        ca, settings = b"", SETTINGS
    with started_stack(folder, PROJECT, settings) as (base, _proc):
        if not ca:
            ca = (base / devca.CA_CERT).read_bytes()
        yield request.param, base, ca


@pytest.fixture(scope="module")
def browser(stack):
    path, sync_playwright = _browser_or_fail()
    _kind, _base, ca = stack
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=[f"--ignore-certificate-errors-spki-list={spki_of(ca)}"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_frontend_file_names_the_https_endpoint(stack):
    kind, base, _ca = stack
    text = (base / "front/.env.local").read_text()
    assert text == (
        f"NEXT_PUBLIC_JITSI_DOMAIN=localhost:{HTTPS}\nNEXT_PUBLIC_JITSI_URL=https://localhost:{HTTPS}\n"
    )
    # now that start made the CA, inv config says in one line this machine does not trust it
    proc = inv(base, "config")
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "development CA" in ln]
    if kind == "production":  # the site's certificate: no development CA at all
        assert lines == [] and not (base / ".jitsi-stack/dev-ca").exists()
        return
    assert len(lines) == 1 and "run `inv dev-ca.trust`" in lines[0], lines


def test_an_allowed_origin_embeds_the_meeting_over_https(stack, browser, tmp_path):
    page = browser.new_page()
    with frontend(tmp_path / "front", FRONT, f"localhost:{HTTPS}") as url:
        page.goto(url.format("localhost"))
        page.wait_for_function("window.__ready !== null", timeout=60_000)
        assert page.evaluate("window.__ready") == f"https://localhost:{HTTPS}"
        frame = page.frame(name="jitsiConferenceFrame0")
        assert frame is not None
        assert frame.url == f"https://localhost:{HTTPS}/agent-42#jitsi_meet_external_api_id=0"
        assert frame.evaluate("window.isSecureContext") is True
        assert frame.evaluate("document.title") == "Jitsi Meet"
        allow = page.evaluate("document.getElementById('jitsiConferenceFrame0').allow")
        assert "camera" in allow and "microphone" in allow
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"embed-{stack[0]}.png"), full_page=True)
    page.close()


def test_an_origin_frontend_origins_lacks_is_refused_by_the_browser(stack, browser, tmp_path):
    page = browser.new_page()
    refused: list[str] = []
    page.on(
        "console", lambda msg: refused.append(msg.text) if "frame-ancestors" in msg.text else None
    )
    with frontend(tmp_path / "other", OTHER, f"localhost:{HTTPS}") as url:
        with page.expect_console_message(lambda msg: "frame-ancestors" in msg.text, timeout=60_000):
            page.goto(url.format("127.0.0.1"))
        # Chromium 156's own line: "Framing 'https://localhost:26044/' violates the following
        # Content Security Policy directive: "frame-ancestors 'self' http://localhost:26100".
        # The request has been blocked."
        assert any(
            f"https://localhost:{HTTPS}/" in line
            and "violates the following Content Security Policy directive" in line
            and f"frame-ancestors 'self' http://localhost:{FRONT}" in line
            for line in refused
        ), refused
        assert page.evaluate("window.__ready") is None
        frame = page.frame(name="jitsiConferenceFrame0")
        assert frame is None or not frame.url.startswith(f"https://localhost:{HTTPS}/agent")
    page.close()


def test_the_plain_http_endpoint_fails_as_the_sdk_asks_for_https(stack, browser, tmp_path):
    page = browser.new_page()
    with frontend(tmp_path / "plain", PLAIN, f"localhost:{HTTP}") as url:
        page.goto(url.format("localhost"))
        page.wait_for_function("window.__scriptError !== null", timeout=60_000)
        assert page.evaluate("window.__scriptError") == f"https://localhost:{HTTP}/external_api.js"
        assert page.evaluate("typeof window.JitsiMeetExternalAPI") == "undefined"
    page.close()


def test_the_real_react_sdk_embeds_the_meeting_over_https(stack, browser, react_bundle, tmp_path):
    page = browser.new_page()
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text))
    page.on("requestfailed", lambda req: seen.append(f"failed {req.url} {req.failure}"))
    with frontend(tmp_path / "react", REACT, f"localhost:{HTTPS}", react_bundle) as url:
        page.goto(url.format("localhost"))
        try:
            page.wait_for_function("window.__ready !== null", timeout=60_000)
        except Exception:  # the browser's own account of what happened
            frames = [f.url for f in page.frames]
            pytest.fail(f"no ready handshake: frames {frames}, console {seen}")
        assert page.evaluate("window.__ready") == f"https://localhost:{HTTPS}"
        frame = page.frame(name="jitsiConferenceFrame0")
        assert frame is not None and frame.url.startswith(
            f"https://localhost:{HTTPS}/agent-42#jitsi_meet_external_api_id=0"
        )
        assert frame.evaluate("window.isSecureContext") is True
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"embed-react-{stack[0]}.png"), full_page=True)
    page.close()
