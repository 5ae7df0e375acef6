"""End-to-end connectivity ("smoke") checks of a running Jitsi Meet deployment.

Each check probes one path a browser or operator depends on (web page, config.js, BOSH,
XMPP websocket, jicofo, jvb, prosody, media port, advertised addresses, TLS) and returns a
:class:`CheckResult` with a one-line detail and, on warn/fail, the likely cause and the fix.
Checks run concurrently, each bounded by ``SmokeTarget.timeout``; results come back in the
fixed order of :data:`CHECK_NAMES`. Nothing secret is printed: URLs are shown without
credentials or query strings and no environment value is echoed.

Usage from Python::

    results = run_checks(SmokeTarget(public_url="http://localhost:8443"))
    render_table(results)
    raise SystemExit(exit_code(results))
"""

from __future__ import annotations

from .report import CheckResult, exit_code, render_table, to_json, verdict, write_junit
from .runner import CHECK_NAMES, run_checks
from .target import SmokeTarget

__all__ = [
    "CHECK_NAMES",
    "CheckResult",
    "SmokeTarget",
    "exit_code",
    "render_table",
    "run_checks",
    "to_json",
    "verdict",
    "write_junit",
]
