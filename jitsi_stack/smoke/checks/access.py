"""Who gets in and how media gets through: the auth check (agents and tokens) and the
turn check (a relay allocated on every TURN server prosody hands out)."""

from __future__ import annotations

import asyncio
import secrets
import time

from ..explain import CheckFailed, Outcome
from ..target import SmokeTarget, base, display, tls_context, tls_verify
from ..xmpp import BoshClient, Deadline, ProbeError, SaslError, StanzaError
from . import http_session, probe_room

LOGS = "`inv logs jitsi-prosody`"


def _resource() -> str:
    """Each session its own resource: auth and turn log in as the same probe account at
    once, and prosody ends the older session of a JID that binds a resource again."""
    return f"jitsi-stack-probe-{secrets.token_hex(4)}"


BACKOFF = (1.0, 2.0)


def _client(target: SmokeTarget, deadline: Deadline, domain: str, token: str = "") -> BoshClient:
    url = base(target) + "/http-bind"
    # lib-jitsi-meet hands the token to prosody on the BOSH URL (?token=); never shown
    full = f"{url}?token={token}" if token else url
    return BoshClient(full, domain, deadline, verify=tls_verify(target), http=http_session(url))


def _anonymous_refused(target: SmokeTarget, deadline: Deadline) -> str:
    """'' when a login without credentials is refused on the XMPP domain, else why not."""
    client = _client(target, deadline, target.xmpp_domain)
    try:
        client.connect()
        if "ANONYMOUS" not in client.mechanisms():
            return ""
        try:
            client.login_anonymous()
        except SaslError:
            return ""
        return f"an anonymous login to {target.xmpp_domain} succeeds: anyone can open meetings"
    finally:
        client.terminate()


def _open_room(client: BoshClient, target: SmokeTarget, done: list[str]) -> None:
    """Ask the focus for a probe room as this session: what an agent does to start a call."""
    focus = f"focus.{target.xmpp_domain}"
    room = probe_room(target)
    answer = client.conference_request(room, focus)
    for pause in BACKOFF:
        if answer.ready or client.deadline.remaining() <= pause:
            break
        time.sleep(pause)
        answer = client.conference_request(room, focus)
    if not answer.ready:
        raise CheckFailed(
            Outcome(
                "fail",
                f"{' → '.join(done)} ok; jicofo answered ready=false",
                "the login works but jicofo cannot host a room (no bridge?)",
                "see the focus and jvb-health checks",
            )
        )
    done.append("room opened")


def check_auth(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """Authentication does its job: no anonymous meetings, and the way in (an agent account
    or a token) works up to a room the focus hosts."""
    if target.auth_type == "":
        return Outcome("skip", "authentication is off: anyone with the link may open a meeting")
    if target.auth_type is None:
        return Outcome("skip", "authentication unknown for this URL")
    if target.auth_type not in ("internal", "jwt"):
        return Outcome("skip", f"auth.type {target.auth_type} is not probed")
    open_door = _anonymous_refused(target, deadline)
    if open_door:
        return Outcome(
            "fail",
            open_door,
            f"prosody's {target.xmpp_domain} host accepts anonymous logins although auth "
            f"is {target.auth_type}",
            "check ENABLE_AUTH / AUTH_TYPE in jitsi-meet/.env (`inv render --check`) and "
            "restart prosody",
        )
    done = ["anonymous login refused"]
    if target.auth_type == "internal":
        if target.agent is None:
            return Outcome(
                "pass",
                f"anonymous login refused on {target.xmpp_domain}; agent login not tried "
                "(needs the local prosody container for a probe account)",
            )
        user, password = target.agent
        client = _client(target, deadline, target.xmpp_domain)
        how = "agent login (SASL PLAIN)"
    else:
        if not target.token:
            return Outcome(
                "pass",
                f"anonymous login refused on {target.xmpp_domain}; no token to try",
            )
        client = _client(target, deadline, target.xmpp_domain, target.token)
        how = "token login"
    try:
        client.connect()
        if target.auth_type == "internal":
            client.login_plain(user, password)
        else:
            client.login_anonymous()
        done.append(how)
        client.bind(_resource())
        _open_room(client, target, done)
        return Outcome("pass", " → ".join(done) + f" on {target.xmpp_domain}")
    except SaslError as exc:
        if target.auth_type == "jwt":
            what = "a freshly minted token"
            cause = (
                "prosody refuses tokens signed with the stack's secret: JWT_APP_SECRET, "
                "JWT_ACCEPTED_ISSUERS/AUDIENCES or JWT_SIGN_TYPE differ from what prosody "
                "runs with"
            )
            fix = f"`inv render --check`, then `inv restart prosody`; {LOGS}"
        else:
            what = f"account {user}"
            cause = (
                f"prosody refused {user}: the account does not exist (removed?) or its "
                "password differs, or this host does not use prosody's accounts"
            )
            fix = "`inv users.list`; `inv render --check`, then `inv restart prosody`"
        return Outcome(
            "fail",
            f"{' → '.join(done)} ok; {how} with {what} failed: {exc.condition}",
            cause,
            fix,
        )
    except StanzaError as exc:
        return Outcome(
            "fail",
            f"{' → '.join(done)} ok; failed at {exc.stage}: {exc.condition}",
            f"jicofo refused the room to a logged-in {'agent' if target.agent else 'token'}",
            "`inv logs jitsi-jicofo`",
        )
    except ProbeError as exc:
        return Outcome("fail", f"{' → '.join(done)} ok; {exc}", str(exc), LOGS)
    finally:
        client.terminate()


# -- TURN ---------------------------------------------------------------------------------


def _login_for_services(target: SmokeTarget, deadline: Deadline) -> BoshClient:
    """A session of the kind browsers have, to ask prosody for TURN credentials."""
    if target.auth_type == "jwt" and target.token:
        client = _client(target, deadline, target.xmpp_domain, target.token)
        client.connect()
        client.login_anonymous()
    elif target.auth_type == "internal" and target.agent:
        client = _client(target, deadline, target.xmpp_domain)
        client.connect()
        client.login_plain(*target.agent)
    elif target.anonymous_domain:
        client = _client(target, deadline, target.anonymous_domain)
        client.connect()
        client.login_anonymous()
    else:
        raise CheckFailed(
            Outcome(
                "skip",
                "no way to log in to ask for TURN credentials (no guests, no probe login)",
            )
        )
    client.bind(_resource())
    return client


async def _allocate(entry: dict[str, str], timeout: float, target: SmokeTarget):
    from aioice import turn  # imported by the one check that needs it

    transport = entry.get("transport") or "udp"
    tls = entry.get("type") == "turns"
    context = tls_context(target) if tls else None
    server = (entry["host"], int(entry["port"]))
    relay, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            asyncio.DatagramProtocol,
            server,
            entry.get("username", ""),
            entry.get("password", ""),
            lifetime=60,
            ssl=context,
            transport="tcp" if tls else transport,
        ),
        timeout,
    )
    try:
        return relay.get_extra_info("sockname")
    finally:
        relay.close()


def _label(entry: dict[str, str]) -> str:
    kind = entry.get("type", "?")
    transport = "tls" if kind == "turns" else entry.get("transport") or "udp"
    return f"{kind}:{entry.get('host', '?')}:{entry.get('port', '?')}/{transport}"


def check_turn(target: SmokeTarget, deadline: Deadline) -> Outcome:
    """Every TURN server prosody hands to browsers gives a relay with those credentials."""
    if not target.turn_expected:
        return Outcome(
            "skip",
            "no TURN server (turn.enabled: false): customers behind strict firewalls "
            "cannot send media",
        )
    client = None
    try:
        client = _login_for_services(target, deadline)
        entries = client.external_services()
    except CheckFailed:
        raise
    except ProbeError as exc:
        return Outcome(
            "fail",
            f"asking prosody for TURN servers failed: {exc}",
            "prosody does not serve external services (XEP-0215)",
            f"check TURN_HOST / TURN_CREDENTIALS in jitsi-meet/.env; {LOGS}",
        )
    finally:
        if client is not None:
            client.terminate()
    relays = [e for e in entries if e.get("type") in ("turn", "turns")]
    if not relays:
        return Outcome(
            "fail",
            f"prosody hands out {len(entries)} service(s), no TURN server",
            "prosody's external_services module is off or TURN_HOST is empty",
            "`inv render --check`, then `inv restart prosody`",
        )
    done, failed = [], []
    for entry in relays:
        label = _label(entry)
        try:
            relayed = asyncio.run(_allocate(entry, deadline.left(label), target))
            done.append(f"{label} → relay {relayed[0]}:{relayed[1]}")
        except Exception as exc:  # aioice: TransactionFailed, timeouts, OSError, ssl errors
            failed.append((label, _turn_reason(exc)))
    if failed:
        label, reason = failed[0]
        return Outcome(
            "fail",
            f"{len(done)} of {len(relays)} TURN server(s) relay; {label}: {reason}",
            _turn_cause(reason),
            "`inv logs jitsi-coturn` (bundled) or the TURN server's logs; is the port open "
            "in the firewall?",
        )
    return Outcome(
        "pass", "; ".join(done) + f" (credentials from prosody via {display(base(target))})"
    )


def _turn_reason(exc: Exception) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "no answer (timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]


def _turn_cause(reason: str) -> str:
    if "401" in reason or "Unauthorized" in reason:
        return (
            "the TURN server refuses prosody's credentials: its shared secret differs from "
            "TURN_CREDENTIALS (turn.secret)"
        )
    if "timeout" in reason or "refused" in reason:
        return "the TURN port does not answer: coturn is down, or the port is not published or open"
    if "certificate" in reason.lower() or "ssl" in reason.lower():
        return "the TLS port's certificate is not valid for the TURN host"
    return "the TURN server refused the allocation"
