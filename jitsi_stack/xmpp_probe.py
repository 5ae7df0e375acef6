"""Minimal XMPP client probes for the smoke checks: BOSH (XEP-0124/0206) and RFC 7395 websocket.

A probe does only what a browser guest does to reach a room: open a session, log in with
SASL ANONYMOUS, bind a resource, ask the focus for the room (the conference request that
jitsi-meet sends to ``focus.<domain>``), join the MUC, leave and terminate. Anonymous
sessions create no account and the room disappears with its last occupant, so a probe leaves
nothing behind.

Everything is bounded by a :class:`Deadline`; errors are :class:`ProbeError` subclasses with
a one-line message, the step that failed (``stage``) and, where XMPP gives one, the
``condition``. Transport errors (connection refused, TLS, DNS) propagate unchanged from
requests / websocket-client so the caller can explain them.
"""

from __future__ import annotations

import contextlib
import secrets
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import requests

BOSH_NS = "http://jabber.org/protocol/httpbind"
XBOSH_NS = "urn:xmpp:xbosh"
CLIENT_NS = "jabber:client"
STREAM_NS = "http://etherx.jabber.org/streams"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"
STREAMS_ERR_NS = "urn:ietf:params:xml:ns:xmpp-streams"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind"
SESSION_NS = "urn:ietf:params:xml:ns:xmpp-session"
FRAMING_NS = "urn:ietf:params:xml:ns:xmpp-framing"
MUC_NS = "http://jabber.org/protocol/muc"
MUC_USER_NS = "http://jabber.org/protocol/muc#user"
DISCO_ITEMS_NS = "http://jabber.org/protocol/disco#items"
FOCUS_NS = "http://jitsi.org/protocol/focus"

BOSH_MAX_WAIT = 10  # seconds prosody may hold an empty poll; answers come sooner
CLEANUP_TIMEOUT = 2.0  # seconds granted to leave/terminate even after the deadline


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class ProbeError(Exception):
    """A probe step failed. ``str(err)`` is one line; ``stage`` names the step."""

    def __init__(self, message: str, *, stage: str = "", condition: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.condition = condition


class ProbeTimeout(ProbeError):
    """The deadline passed while waiting for ``stage``."""


class HttpStatusError(ProbeError):
    """The HTTP endpoint answered with a non-200 status."""

    def __init__(self, status: int, url: str, *, stage: str = "") -> None:
        super().__init__(f"HTTP {status} from {url}", stage=stage)
        self.status = status
        self.url = url


class NotXmppError(ProbeError):
    """The answer is not BOSH/XMPP (an HTML page, garbage, a missing attribute)."""


class StreamError(ProbeError):
    """The server ended the session (BOSH terminate or a stream error)."""


class SaslError(ProbeError):
    """SASL ANONYMOUS is not offered or failed."""


class StanzaError(ProbeError):
    """An IQ or presence came back with type='error'."""


class Deadline:
    """A point in time every network step of one probe must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def left(self, what: str) -> float:
        """Seconds left; raises :class:`ProbeTimeout` naming ``what`` when none are."""
        rest = self.remaining()
        if rest <= 0:
            raise ProbeTimeout(f"timed out after {self.seconds:g}s {what}", stage=what)
        return rest


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse one XML document or fragment received from the server.

    XMPP forbids DTDs (RFC 6120 section 11.1), so any DOCTYPE/ENTITY is rejected before
    parsing; expat never fetches external entities. This is why the stdlib parser is safe here.
    """
    probe = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
    if b"<!DOCTYPE" in probe or b"<!ENTITY" in probe:
        raise NotXmppError("answer contains a DTD, which XMPP forbids (not an XMPP server?)")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs rejected above, no external entities
    except ET.ParseError as exc:
        snippet = probe[:60].decode("utf-8", "replace").replace("\n", " ")
        raise NotXmppError(f"answer is not XML ({exc}): {snippet!r}") from exc


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())


def _error_condition(el: ET.Element) -> str:
    """The defined condition of a stanza or stream error element, e.g. 'not-authorized'."""
    err = el.find(_q(CLIENT_NS, "error"))
    if err is None:
        err = el.find("error")
    target = err if err is not None else el
    for child in target:
        if local_name(child.tag) != "text":
            return local_name(child.tag)
    return "undefined-condition"


def _bare(jid: str | None) -> str:
    return (jid or "").split("/", 1)[0].lower()


@dataclass
class ConferenceAnswer:
    """jicofo's answer to a conference request (XMPP or HTTP form)."""

    ready: bool
    focus_jid: str = ""
    vnode: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def conference_request_payload(room_jid: str, machine_uid: str) -> str:
    """The <conference/> element lib-jitsi-meet sends before joining a room."""
    return (
        f"<conference xmlns='{FOCUS_NS}'{_attrs({'room': room_jid, 'machine-uid': machine_uid})}>"
        "<property name='rtcstatsEnabled' value='false'/>"
        "<property name='visitors-version' value='1'/>"
        "</conference>"
    )


class BoshClient:
    """One BOSH session, used strictly sequentially (one request in flight)."""

    def __init__(
        self,
        url: str,
        domain: str,
        deadline: Deadline,
        *,
        verify: bool = True,
        http: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.domain = domain
        self.deadline = deadline
        self.verify = verify
        self.http = http or requests.Session()
        self.rid = secrets.randbelow(2**32) + 2**20  # XEP-0124 section 14: random, < 2**53
        self.sid: str | None = None
        self.wait = BOSH_MAX_WAIT
        self.features: ET.Element | None = None
        self.jid: str | None = None
        self.terminated = False
        self._inbox: list[ET.Element] = []
        self._replies: list[str] = []  # answers to IQs the server sent us
        self._ids = 0

    # -- transport ---------------------------------------------------------------------------

    def _next_rid(self) -> str:
        self.rid += 1
        return str(self.rid)

    def _raw_post(self, body: str, timeout: float) -> requests.Response:
        return self.http.post(
            self.url,
            data=body.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=timeout,
            verify=self.verify,
            allow_redirects=False,
        )

    def _post(self, body: str, stage: str, timeout: float | None = None) -> ET.Element:
        if timeout is None:
            timeout = self.deadline.left(stage)
        try:
            resp = self._raw_post(body, timeout)
        except requests.Timeout as exc:
            raise ProbeTimeout(
                f"timed out after {self.deadline.seconds:g}s {stage}", stage=stage
            ) from exc
        if resp.status_code != 200:
            raise HttpStatusError(resp.status_code, self.url, stage=stage)
        try:
            root = parse_xml(resp.content)
        except NotXmppError as exc:
            ctype = resp.headers.get("Content-Type", "?")
            raise NotXmppError(
                f"{self.url} answered {ctype}, not BOSH: {exc}", stage=stage
            ) from exc
        if root.tag != _q(BOSH_NS, "body"):
            raise NotXmppError(
                f"{self.url} answered <{local_name(root.tag)}>, not a BOSH <body>", stage=stage
            )
        if root.get("type") == "terminate":
            self.terminated = True
            condition = root.get("condition") or "undefined-condition"
            raise StreamError(
                f"server terminated the BOSH session: {condition}", stage=stage, condition=condition
            )
        for child in root:
            self._receive(child, stage)
        return root

    def _receive(self, el: ET.Element, stage: str) -> None:
        if el.tag == _q(STREAM_NS, "features"):
            self.features = el
        elif el.tag == _q(STREAM_NS, "error"):
            condition = _error_condition(el)
            raise StreamError(f"stream error: {condition}", stage=stage, condition=condition)
        elif el.tag == _q(CLIENT_NS, "iq") and el.get("type") in ("get", "set"):
            # RFC 6120 8.2.3: every get/set needs an answer; we offer no services.
            self._replies.append(
                f"<iq xmlns='{CLIENT_NS}' type='error'"
                f"{_attrs({'to': el.get('from', ''), 'id': el.get('id', '')})}>"
                f"<error type='cancel'><service-unavailable xmlns='{STANZAS_NS}'/></error></iq>"
            )
        else:
            self._inbox.append(el)

    def _body(self, payload: str = "", **extra: str) -> str:
        attrs = {"rid": self._next_rid(), "xmlns": BOSH_NS}
        if self.sid:
            attrs["sid"] = self.sid
        attrs.update(extra)
        replies, self._replies = "".join(self._replies), []
        return f"<body{_attrs(attrs)}>{replies}{payload}</body>"

    def send(self, payload: str, stage: str) -> None:
        self._post(self._body(payload), stage)

    def wait_for(self, predicate: Callable[[ET.Element], bool], stage: str) -> ET.Element:
        """Return the first received element matching ``predicate``, polling as needed."""
        while True:
            for i, el in enumerate(self._inbox):
                if predicate(el):
                    return self._inbox.pop(i)
            self._post(self._body(), stage)  # empty poll: prosody holds it until data arrives

    # -- session -----------------------------------------------------------------------------

    def connect(self) -> ET.Element:
        """Create the session (XEP-0124 7.1 / XEP-0206 section 3) and return stream features."""
        stage = "creating the BOSH session"
        self.wait = max(1, min(BOSH_MAX_WAIT, int(self.deadline.left(stage))))
        attrs = {
            "content": "text/xml; charset=utf-8",
            "hold": "1",
            "rid": self._next_rid(),
            "to": self.domain,
            "ver": "1.6",
            "wait": str(self.wait),
            "xml:lang": "en",
            "xmpp:version": "1.0",
            "xmlns": BOSH_NS,
            "xmlns:xmpp": XBOSH_NS,
        }
        root = self._post(f"<body{_attrs(attrs)}/>", stage)
        self.sid = root.get("sid")
        if not self.sid:
            raise NotXmppError(f"{self.url} created no BOSH session (no sid)", stage=stage)
        self.wait = int(root.get("wait") or self.wait)
        return self._await_features("reading stream features")

    def _await_features(self, stage: str) -> ET.Element:
        while self.features is None:
            self._post(self._body(), stage)
        return self.features

    def mechanisms(self) -> list[str]:
        if self.features is None:
            return []
        mechs = self.features.find(_q(SASL_NS, "mechanisms"))
        if mechs is None:
            return []
        return [m.text or "" for m in mechs.findall(_q(SASL_NS, "mechanism"))]

    def login_anonymous(self) -> None:
        """SASL ANONYMOUS, then the stream restart of XEP-0206 section 5."""
        stage = "SASL ANONYMOUS"
        offered = self.mechanisms()
        if "ANONYMOUS" not in offered:
            raise SaslError(
                f"SASL ANONYMOUS is not offered on {self.domain} "
                f"(offered: {', '.join(offered) or 'none'})",
                stage=stage,
                condition="mechanism-not-offered",
            )
        self.send(f"<auth xmlns='{SASL_NS}' mechanism='ANONYMOUS'/>", stage)
        answer = self.wait_for(
            lambda e: e.tag in (_q(SASL_NS, "success"), _q(SASL_NS, "failure")), stage
        )
        if answer.tag == _q(SASL_NS, "failure"):
            condition = next((local_name(c.tag) for c in answer), "undefined-condition")
            raise SaslError(f"SASL ANONYMOUS failed: {condition}", stage=stage, condition=condition)
        self.features = None
        restart = {
            "to": self.domain,
            "xml:lang": "en",
            "xmpp:restart": "true",
            "xmlns:xmpp": XBOSH_NS,
        }
        self._post(self._body(**restart), "restarting the stream")
        self._await_features("restarting the stream")

    def iq(self, iq_type: str, payload: str, stage: str, to: str | None = None) -> ET.Element:
        """Send an IQ and return the result; type='error' raises :class:`StanzaError`."""
        self._ids += 1
        iq_id = f"jitsi-stack-probe-{self._ids}"
        attrs = {"type": iq_type, "id": iq_id}
        if to:
            attrs["to"] = to
        self.send(f"<iq xmlns='{CLIENT_NS}'{_attrs(attrs)}>{payload}</iq>", stage)
        answer = self.wait_for(
            lambda e: (
                e.tag == _q(CLIENT_NS, "iq")
                and e.get("id") == iq_id
                and e.get("type") in ("result", "error")
            ),
            stage,
        )
        if answer.get("type") == "error":
            condition = _error_condition(answer)
            raise StanzaError(f"{stage}: {condition}", stage=stage, condition=condition)
        return answer

    def bind(self, resource: str = "jitsi-stack-probe") -> str:
        stage = "binding a resource"
        result = self.iq(
            "set", f"<bind xmlns='{BIND_NS}'><resource>{escape(resource)}</resource></bind>", stage
        )
        jid = result.find(f"{_q(BIND_NS, 'bind')}/{_q(BIND_NS, 'jid')}")
        self.jid = jid.text if jid is not None else None
        if not self.jid:
            raise NotXmppError("bind result carries no JID", stage=stage)
        # RFC 3921 session establishment, only when the server still requires it.
        session = self.features.find(_q(SESSION_NS, "session")) if self.features else None
        if session is not None and session.find(_q(SESSION_NS, "optional")) is None:
            self.iq("set", f"<session xmlns='{SESSION_NS}'/>", "establishing the session")
        return self.jid

    # -- jitsi / MUC ---------------------------------------------------------------------------

    def conference_request(self, room_jid: str, focus_jid: str) -> ConferenceAnswer:
        """Ask the focus (jicofo via prosody's client_proxy) to host ``room_jid``."""
        result = self.iq(
            "set",
            conference_request_payload(room_jid, secrets.token_hex(16)),
            "conference request",
            to=focus_jid,
        )
        conf = result.find(_q(FOCUS_NS, "conference"))
        if conf is None:
            raise NotXmppError("conference answer carries no <conference/>", stage="conference")
        props = {
            p.get("name", ""): p.get("value", "") for p in conf.findall(_q(FOCUS_NS, "property"))
        }
        return ConferenceAnswer(
            ready=conf.get("ready") == "true",
            focus_jid=conf.get("focusjid", ""),
            vnode=conf.get("vnode", ""),
            properties=props,
        )

    def join_room(self, room_jid: str, nick: str) -> list[str]:
        """Join a MUC (XEP-0045 7.2) and return the status codes of our self-presence."""
        stage = "waiting for the MUC self-presence (status 110)"
        self.send(
            f"<presence xmlns='{CLIENT_NS}'{_attrs({'to': f'{room_jid}/{nick}'})}>"
            f"<x xmlns='{MUC_NS}'/></presence>",
            stage,
        )
        room = _bare(room_jid)

        def is_answer(el: ET.Element) -> bool:
            if el.tag != _q(CLIENT_NS, "presence") or _bare(el.get("from")) != room:
                return False
            return el.get("type") == "error" or "110" in _statuses(el)

        answer = self.wait_for(is_answer, stage)
        if answer.get("type") == "error":
            condition = _error_condition(answer)
            raise StanzaError(f"MUC join refused: {condition}", stage=stage, condition=condition)
        return _statuses(answer)

    def leave_room(self, room_jid: str, nick: str) -> None:
        """Send unavailable presence and wait for the server to confirm (status 110)."""
        stage = "leaving the room"
        self.send(
            f"<presence xmlns='{CLIENT_NS}' type='unavailable'"
            f"{_attrs({'to': f'{room_jid}/{nick}'})}/>",
            stage,
        )
        room = _bare(room_jid)
        self.wait_for(
            lambda e: (
                e.tag == _q(CLIENT_NS, "presence")
                and _bare(e.get("from")) == room
                and e.get("type") in ("unavailable", "error")
            ),
            stage,
        )

    def disco_items(self, jid: str) -> list[str]:
        result = self.iq("get", f"<query xmlns='{DISCO_ITEMS_NS}'/>", "disco#items", to=jid)
        query = result.find(_q(DISCO_ITEMS_NS, "query"))
        if query is None:
            return []
        return [item.get("jid", "") for item in query.findall(_q(DISCO_ITEMS_NS, "item"))]

    def terminate(self) -> None:
        """End the session (XEP-0124 section 13); best effort, also after the deadline."""
        if not self.sid or self.terminated:
            return
        self.terminated = True
        body = self._body(f"<presence xmlns='{CLIENT_NS}' type='unavailable'/>", type="terminate")
        timeout = max(CLEANUP_TIMEOUT, min(self.deadline.remaining(), CLEANUP_TIMEOUT))
        # best effort: the server drops the session after its inactivity timeout anyway
        with contextlib.suppress(requests.RequestException):
            self._raw_post(body, timeout)


def _statuses(presence: ET.Element) -> list[str]:
    x = presence.find(_q(MUC_USER_NS, "x"))
    if x is None:
        return []
    return [s.get("code", "") for s in x.findall(_q(MUC_USER_NS, "status"))]


@dataclass
class WebSocketAnswer:
    """What the RFC 7395 handshake showed."""

    subprotocol: str
    stream_from: str
    stream_id: str
    features: list[str]
    mechanisms: list[str]
    closed_by_server: bool


def websocket_probe(
    url: str, domain: str, deadline: Deadline, *, verify: bool = True
) -> WebSocketAnswer:
    """Open an XMPP-over-websocket stream, read <open/> and features, then close it."""
    import websocket  # websocket-client; imported late so the rest works without it

    sslopt = {} if verify else {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    stage = "opening the websocket"
    try:
        ws = websocket.create_connection(
            url,
            timeout=deadline.left(stage),
            subprotocols=["xmpp"],
            sslopt=sslopt,
        )
    except websocket.WebSocketTimeoutException as exc:
        raise ProbeTimeout(f"timed out after {deadline.seconds:g}s {stage}", stage=stage) from exc
    try:
        subprotocol = ws.getsubprotocol() or ""
        ws.send(f"<open xmlns='{FRAMING_NS}'{_attrs({'to': domain, 'version': '1.0'})}/>")

        def receive(what: str) -> ET.Element:
            ws.settimeout(deadline.left(what))
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException as exc:
                raise ProbeTimeout(
                    f"timed out after {deadline.seconds:g}s {what}", stage=what
                ) from exc
            except websocket.WebSocketConnectionClosedException as exc:
                raise StreamError(f"server closed the websocket {what}", stage=what) from exc
            el = parse_xml(frame)
            if el.tag == _q(STREAM_NS, "error"):
                condition = _error_condition(el)
                raise StreamError(f"stream error: {condition}", stage=what, condition=condition)
            return el

        opened = receive("waiting for <open/>")
        if opened.tag == _q(FRAMING_NS, "close"):
            raise StreamError(
                f"server closed the stream instead of opening it ({opened.get('see-other-uri')})",
                stage="waiting for <open/>",
                condition="see-other-uri",
            )
        if opened.tag != _q(FRAMING_NS, "open"):
            raise NotXmppError(
                f"expected <open/>, got <{local_name(opened.tag)}>", stage="waiting for <open/>"
            )
        features = receive("waiting for stream features")
        if features.tag != _q(STREAM_NS, "features"):
            raise NotXmppError(
                f"expected <stream:features/>, got <{local_name(features.tag)}>",
                stage="waiting for stream features",
            )
        mechs_el = features.find(_q(SASL_NS, "mechanisms"))
        mechanisms = (
            [m.text or "" for m in mechs_el.findall(_q(SASL_NS, "mechanism"))]
            if mechs_el is not None
            else []
        )
        ws.send(f"<close xmlns='{FRAMING_NS}'/>")
        closed = False
        try:
            ws.settimeout(max(0.1, min(deadline.remaining(), 1.0)))
            closed = parse_xml(ws.recv()).tag == _q(FRAMING_NS, "close")
        except (websocket.WebSocketException, ProbeError, OSError):
            pass  # the server may drop the TCP connection right away; that is fine
        return WebSocketAnswer(
            subprotocol=subprotocol,
            stream_from=opened.get("from", ""),
            stream_id=opened.get("id", ""),
            features=[local_name(f.tag) for f in features],
            mechanisms=mechanisms,
            closed_by_server=closed,
        )
    finally:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            ws.close(timeout=0.5)


def open_rooms(bosh_url: str, domain: str, muc_domain: str, seconds: float = 10) -> list[str]:
    """The rooms a MUC service lists (disco#items), from a short anonymous BOSH session."""
    client = BoshClient(bosh_url, domain, Deadline(seconds))
    try:
        client.connect()
        client.login_anonymous()
        client.bind("observer")
        return client.disco_items(muc_domain)
    finally:
        client.terminate()
