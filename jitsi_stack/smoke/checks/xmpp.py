"""The signalling path of a guest: BOSH (bosh), the XMPP websocket, jicofo's focus."""

from __future__ import annotations

import secrets
import time

from ..explain import CheckFailed, Outcome, one_line
from ..target import SmokeTarget, base, display, hostport, tls_verify, ws_base
from ..xmpp import (
    BoshClient,
    Deadline,
    HttpStatusError,
    NotXmppError,
    ProbeError,
    ProbeTimeout,
    SaslError,
    StanzaError,
    StreamError,
    websocket_probe,
)
from . import bridges_text, http_session, operational_bridges, probe_room

PROBE_NICK = "jitsi-stack-probe"
BACKOFF = (1.0, 2.0, 4.0)  # lib-jitsi-meet retries a not-ready answer after 1 s, 2 s, ...
LOGS = "`inv logs jitsi-prosody`"


def check_bosh(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """A guest's way into a room over /http-bind: session, login, bind, focus, join, leave."""
    url = base(target) + "/http-bind"
    domain = target.anonymous_domain or target.xmpp_domain
    client = BoshClient(url, domain, deadline, verify=tls_verify(target), http=http_session(url))
    done: list[str] = []
    room = probe_room(target)
    try:
        client.connect()
        done.append("session")
        if target.anonymous_domain is None:
            mechs = ", ".join(client.mechanisms()) or "none"
            return Outcome(
                "warn",
                f"BOSH session to {domain} via {display(url)} ok (SASL: {mechs}); login skipped",
                "guests are not allowed (anonymous_domain is None): login and room join were "
                "not tested",
                "set anonymous_domain to the guest domain to test the guest path end to end",
            )
        client.login_anonymous()
        done.append("SASL ANONYMOUS")
        client.bind()
        done.append("bind")
        focus = f"focus.{target.xmpp_domain}"
        answer = client.conference_request(room, focus)
        for pause in BACKOFF:
            if answer.ready or deadline.remaining() <= pause:
                break
            time.sleep(pause)
            answer = client.conference_request(room, focus)
        if not answer.ready:
            return Outcome(
                "fail",
                f"{' → '.join(done)} ok; jicofo answered ready=false for the probe room",
                "jicofo cannot host the room yet: no bridge (jvb down or not logged in) or it "
                "is still starting",
                "`inv logs jitsi-jicofo jitsi-jvb`; see the focus and jvb-health checks",
            )
        done.append("conference request")
        # lib-jitsi-meet's nick: the first 8 characters of the server-assigned JID node
        # (upstream's muc_resource_validate enforces this for anonymous users)
        nick = (client.jid or "").split("@", 1)[0][:8] or PROBE_NICK
        statuses = client.join_room(room, nick)
        done.append("join")
        client.leave_room(room, nick)
        done.append("leave")
        created = " (room created)" if "201" in statuses else ""
        return Outcome(
            "pass",
            f"{' → '.join(done)} via {display(url)} as guest on {domain}; probe room "
            f"{room.split('@', 1)[0]}{created} left",
        )
    except ProbeError as exc:
        raise CheckFailed(bosh_failure(exc, done, target, url, domain)) from exc
    finally:
        # terminating the session also takes the probe out of any room it is still in
        client.terminate()


def bosh_failure(
    exc: ProbeError, done: list[str], target: SmokeTarget, url: str, domain: str
) -> Outcome:
    """Explain a failed BOSH step; `done` lists the steps that succeeded before it."""
    ok = f"{' → '.join(done)} ok; " if done else ""
    message = str(exc).removeprefix(f"{exc.stage}: ")
    detail = f"{ok}failed at {exc.stage or 'BOSH'}: {message}"
    if isinstance(exc, ProbeTimeout):
        if exc.stage.startswith("waiting for the MUC"):
            return Outcome(
                "fail",
                detail,
                f"timed out after {target.timeout:g}s: prosody held the join (it waits until "
                "jicofo is in the room) or the MUC is not answering",
                "`inv logs jitsi-jicofo jitsi-prosody`",
            )
        return Outcome("fail", detail, f"timed out after {target.timeout:g}s", LOGS)
    if isinstance(exc, HttpStatusError):
        if exc.status in (404, 405):
            cause = (
                f"{display(url)} answers {exc.status}: the web container does not proxy "
                "/http-bind, or prosody's bosh module is off"
            )
            fix = "check XMPP_BOSH_URL_BASE and `inv logs jitsi-web`"
        elif exc.status in (502, 503, 504):
            cause = (
                f"the web container answers {exc.status} on /http-bind: it cannot reach "
                "prosody (prosody down, or XMPP_BOSH_URL_BASE wrong)"
            )
            fix = f"`inv status`; {LOGS}"
        else:
            cause = f"/http-bind answers HTTP {exc.status}"
            fix = f"`inv logs jitsi-web`; {LOGS}"
        return Outcome("fail", detail, cause, fix)
    if isinstance(exc, NotXmppError):
        return Outcome(
            "fail",
            detail,
            f"{display(url)} does not speak BOSH: /http-bind is not proxied to prosody",
            "check the web container's /http-bind route (XMPP_BOSH_URL_BASE) and any proxy",
        )
    if isinstance(exc, StreamError):
        # prosody answers a session request for a domain it does not serve with
        # improper-addressing (XEP-0124 names host-unknown for the same case)
        unknown_host = exc.condition == "host-unknown" or (
            exc.condition == "improper-addressing" and not done
        )
        if unknown_host:
            return Outcome(
                "fail",
                detail,
                f"prosody does not serve the XMPP domain {domain!r}",
                "set xmpp_domain / anonymous_domain to the deployment's XMPP_DOMAIN / guest domain",
            )
        return Outcome("fail", detail, f"prosody ended the session: {exc.condition}", LOGS)
    if isinstance(exc, SaslError):
        if exc.condition == "mechanism-not-offered":
            return Outcome(
                "fail",
                detail,
                f"anonymous (guest) login is not offered on {domain}",
                "set anonymous_domain to the guest domain (auth with guests enabled uses the "
                "guest domain), or None when guests are not allowed",
            )
        return Outcome("fail", detail, f"SASL ANONYMOUS refused: {exc.condition}", LOGS)
    if isinstance(exc, StanzaError):
        return _stanza_failure(exc, detail, target)
    return Outcome("fail", detail, str(exc), LOGS)


def _stanza_failure(exc: StanzaError, detail: str, target: SmokeTarget) -> Outcome:
    if exc.stage == "conference request":
        if exc.condition == "not-authorized":
            return Outcome(
                "warn",
                detail,
                "guests may not start a meeting (authentication is enabled): the room "
                "join was not tested",
                "expected with auth; test with a moderator account in a browser",
            )
        focus = f"focus.{target.xmpp_domain}"
        if exc.condition in ("service-unavailable", "remote-server-timeout"):
            # upstream's client_proxy component answers service-unavailable when no jicofo
            # is connected; an external component that is not connected (jicofo before
            # 2021) gives remote-server-timeout
            return Outcome(
                "fail",
                detail,
                f"{focus} did not answer the conference request ({exc.condition}): "
                "jicofo is not connected to prosody",
                "`inv logs jitsi-jicofo`; a jicofo password rotated after the first start "
                "needs the prosody account updated",
            )
        return Outcome(
            "fail",
            detail,
            f"prosody has no {focus} component to route the conference request "
            f"({exc.condition}); upstream's prosody proxies it to jicofo (client_proxy)",
            "check that xmpp_domain matches XMPP_DOMAIN and that prosody runs the upstream "
            "configuration (`inv logs jitsi-prosody`)",
        )
    if exc.stage.startswith("waiting for the MUC"):
        return Outcome(
            "fail",
            detail,
            f"the MUC {target.muc_domain} refused the probe: {exc.condition}",
            "check muc_domain (XMPP_MUC_DOMAIN), lobby/password settings and "
            "`inv logs jitsi-prosody`",
        )
    return Outcome("fail", detail, f"prosody answered {exc.condition}", LOGS)


_UPGRADE_REFUSED = {
    404: (
        "the web container does not proxy /xmpp-websocket (ENABLE_XMPP_WEBSOCKET=0?) "
        "or prosody's websocket module is off",
        "enable websocket in the settings and recreate web; behind a reverse proxy "
        "forward /xmpp-websocket with the Upgrade and Connection headers",
    ),
    501: (
        "prosody did not get the xmpp subprotocol (a proxy strips Sec-WebSocket-*)",
        "forward the Sec-WebSocket-Protocol header in the proxy",
    ),
    200: (
        "the server answered 200 instead of switching protocols: /xmpp-websocket is "
        "not proxied to prosody (ENABLE_XMPP_WEBSOCKET=0 on the web container) or a "
        "proxy drops the Upgrade/Connection headers",
        "enable websocket and recreate web; forward Upgrade and Connection in proxies",
    ),
}
_PROXY_DOWN = (
    "the web container cannot reach prosody on /xmpp-websocket (prosody down?)",
    "`inv status`; `inv logs jitsi-prosody`",
)


def check_websocket(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """An RFC 7395 stream over /xmpp-websocket: subprotocol, <open/>, features, close."""
    if not target.websocket_enabled:
        return Outcome("skip", "websocket disabled in the settings")
    import websocket  # websocket-client

    url = ws_base(target) + "/xmpp-websocket"
    try:
        answer = websocket_probe(url, target.xmpp_domain, deadline, verify=tls_verify(target))
    except websocket.WebSocketBadStatusException as exc:
        status = getattr(exc, "status_code", 0)
        cause, fix = _UPGRADE_REFUSED.get(status) or (
            _PROXY_DOWN
            if status in (502, 503, 504)
            else (
                f"the websocket upgrade was refused with HTTP {status}",
                "`inv logs jitsi-web`; `inv logs jitsi-prosody`",
            )
        )
        detail = f"upgrade of {display(url)} refused with HTTP {status}"
        raise CheckFailed(Outcome("fail", detail, cause, fix)) from exc
    except websocket.WebSocketException as exc:
        if "subprotocol" in str(exc).lower() or "Invalid WebSocket Header" in str(exc):
            raise CheckFailed(
                Outcome(
                    "fail",
                    f"{display(url)}: {exc}",
                    "the server upgraded without the xmpp subprotocol (RFC 7395): not prosody",
                    "route /xmpp-websocket to prosody",
                )
            ) from exc
        raise
    except ProbeTimeout:
        raise
    except StreamError as exc:
        cause = (
            f"prosody does not serve the XMPP domain {target.xmpp_domain!r}"
            if exc.condition == "host-unknown"
            else f"prosody closed the stream: {exc.condition or exc}"
        )
        fix = "check xmpp_domain and `inv logs jitsi-prosody`"
        raise CheckFailed(Outcome("fail", f"{display(url)}: {exc}", cause, fix)) from exc
    except ProbeError as exc:
        raise CheckFailed(
            Outcome(
                "fail",
                f"{display(url)}: {exc}",
                "the websocket endpoint does not speak XMPP (RFC 7395)",
                "route /xmpp-websocket to prosody",
            )
        ) from exc
    mechs = ", ".join(answer.mechanisms) or "none"
    closed = "closed cleanly" if answer.closed_by_server else "closed"
    return Outcome(
        "pass",
        f"{display(url)} subprotocol={answer.subprotocol} stream from "
        f"{answer.stream_from or '?'}; SASL: {mechs}; {closed}",
    )


def check_focus(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """jicofo's conference request over REST, as lib-jitsi-meet posts it, and its bridges."""
    if target.jicofo_url is None:
        return Outcome("skip", "jicofo_url not set (remote deployment)")
    url = target.jicofo_url.rstrip("/") + "/conference-request/v1"
    room = probe_room(target)
    body = {  # the shape lib-jitsi-meet posts when conferenceRequestUrl is set
        "machineUid": secrets.token_hex(16),
        "properties": {"rtcstatsEnabled": False, "visitors-version": 1},
        "room": room,
    }
    resp = http_session(url).post(
        url,
        json=body,
        timeout=deadline.left("POST /conference-request/v1"),
        verify=tls_verify(target),
        allow_redirects=False,
    )
    if resp.status_code == 403:
        return Outcome(
            "warn",
            "HTTP 403: jicofo requires authentication to create rooms",
            "authentication is enabled, so an anonymous conference request is refused",
            "expected with auth; the guest path is covered by the bosh check",
        )
    if resp.status_code == 404:
        return Outcome(
            "fail",
            f"HTTP 404 for {display(url)}",
            "jicofo's REST API has no conference-request endpoint (REST disabled or an old jicofo)",
            "enable jicofo REST (JICOFO_ENABLE_REST=1) and recreate jicofo",
        )
    if resp.status_code != 200:
        return Outcome(
            "fail",
            f"HTTP {resp.status_code}: {one_line(resp.text, 100)}",
            "jicofo rejected the conference request",
            "`inv logs jitsi-jicofo`",
        )
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Outcome(
            "fail",
            "answer is not a JSON object",
            f"something other than jicofo answers on {hostport(url)}",
            "check the jicofo port mapping",
        )
    focus_jid = str(data.get("focusJid") or "?")
    if data.get("ready") not in (True, "true"):
        return Outcome(
            "fail",
            f"ready={data.get('ready')!r} for the probe room (focusJid {focus_jid})",
            "jicofo has no bridge (jvb down or not logged in) or is not connected to prosody",
            "`inv logs jitsi-jvb jitsi-jicofo`; check the jvb-health check and the JVB password",
        )
    vnode = f", vnode {data['vnode']}" if data.get("vnode") else ""
    # ready=true only says focus joined the room; media needs a bridge. jicofo's /stats
    # (always routed) counts the operational bridges of its bridge selector.
    bridges = operational_bridges(target, deadline)
    if bridges is not None and bridges < target.expected_bridges:
        cause = (
            "no bridge is logged in to prosody (jvb down, unhealthy or wrong JVB password): "
            "a conference would start without media"
            if bridges == 0
            else f"{target.expected_bridges - bridges} of the expected bridges are not "
            "logged in to prosody (down, unhealthy or wrong JVB password): less capacity "
            "than planned"
        )
        return Outcome(
            "fail",
            f"ready=true for the probe room, but {bridges_text(bridges, target)}",
            cause,
            "`inv logs jitsi-jvb`; `inv status`; check the jvb-health check",
        )
    counted = (
        ", operational bridges unknown (/stats unreadable)"
        if bridges is None
        else f", {bridges_text(bridges, target)}"
    )
    return Outcome(
        "pass",
        f"ready=true for {room.split('@', 1)[0]} (focusJid {focus_jid}{vnode}{counted}); "
        "jicofo ends the empty conference by itself",
    )
