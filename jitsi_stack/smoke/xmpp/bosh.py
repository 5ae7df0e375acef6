"""One BOSH session (XEP-0124/0206), as a browser guest (SASL ANONYMOUS) or an agent
(SASL PLAIN) uses it."""

from __future__ import annotations

import base64
import contextlib
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import requests

from .core import (
    BIND_NS,
    BOSH_MAX_WAIT,
    BOSH_NS,
    CLEANUP_TIMEOUT,
    CLIENT_NS,
    DISCO_ITEMS_NS,
    EXTDISCO_NS,
    FOCUS_NS,
    MUC_NS,
    MUC_USER_NS,
    SASL_NS,
    SESSION_NS,
    STANZAS_NS,
    STREAM_NS,
    XBOSH_NS,
    Deadline,
    HttpStatusError,
    NotXmppError,
    ProbeTimeout,
    SaslError,
    StanzaError,
    StreamError,
    bare_jid,
    error_condition,
    local_name,
    parse_xml,
    qname,
    xml_attrs,
)


@dataclass
class ConferenceAnswer:
    """jicofo's answer to a conference request (XMPP or HTTP form)."""

    ready: bool
    focus_jid: str = ""
    vnode: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def conference_request_payload(room_jid: str, machine_uid: str) -> str:
    """The <conference/> element lib-jitsi-meet sends before joining a room."""
    attrs = xml_attrs({"room": room_jid, "machine-uid": machine_uid})
    return (
        f"<conference xmlns='{FOCUS_NS}'{attrs}>"
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
        verify: bool | str = True,  # requests' verify=: False, True or a CA file
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
        if root.tag != qname(BOSH_NS, "body"):
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
        if el.tag == qname(STREAM_NS, "features"):
            self.features = el
        elif el.tag == qname(STREAM_NS, "error"):
            condition = error_condition(el)
            raise StreamError(f"stream error: {condition}", stage=stage, condition=condition)
        elif el.tag == qname(CLIENT_NS, "iq") and el.get("type") in ("get", "set"):
            # RFC 6120 8.2.3: every get/set needs an answer; we offer no services.
            self._replies.append(
                f"<iq xmlns='{CLIENT_NS}' type='error'"
                f"{xml_attrs({'to': el.get('from', ''), 'id': el.get('id', '')})}>"
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
        return f"<body{xml_attrs(attrs)}>{replies}{payload}</body>"

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
        root = self._post(f"<body{xml_attrs(attrs)}/>", stage)
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
        mechs = self.features.find(qname(SASL_NS, "mechanisms"))
        if mechs is None:
            return []
        return [m.text or "" for m in mechs.findall(qname(SASL_NS, "mechanism"))]

    def login_anonymous(self) -> None:
        """SASL ANONYMOUS, then the stream restart of XEP-0206 section 5."""
        self._sasl("ANONYMOUS", "")

    def login_plain(self, user: str, password: str) -> None:
        """SASL PLAIN as an account of the domain (prosody offers it on BOSH, which it
        considers secure: consider_bosh_secure in upstream's prosody.cfg.lua)."""
        self._sasl("PLAIN", base64.b64encode(f"\0{user}\0{password}".encode()).decode())

    def _sasl(self, mechanism: str, initial: str) -> None:
        stage = f"SASL {mechanism}"
        offered = self.mechanisms()
        if mechanism not in offered:
            raise SaslError(
                f"SASL {mechanism} is not offered on {self.domain} "
                f"(offered: {', '.join(offered) or 'none'})",
                stage=stage,
                condition="mechanism-not-offered",
            )
        self.send(f"<auth xmlns='{SASL_NS}' mechanism='{mechanism}'>{initial}</auth>", stage)
        answer = self.wait_for(
            lambda e: e.tag in (qname(SASL_NS, "success"), qname(SASL_NS, "failure")), stage
        )
        if answer.tag == qname(SASL_NS, "failure"):
            condition = next(
                (local_name(c.tag) for c in answer if local_name(c.tag) != "text"),
                "undefined-condition",
            )
            raise SaslError(
                f"SASL {mechanism} failed: {condition}", stage=stage, condition=condition
            )
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
        self.send(f"<iq xmlns='{CLIENT_NS}'{xml_attrs(attrs)}>{payload}</iq>", stage)
        answer = self.wait_for(
            lambda e: (
                e.tag == qname(CLIENT_NS, "iq")
                and e.get("id") == iq_id
                and e.get("type") in ("result", "error")
            ),
            stage,
        )
        if answer.get("type") == "error":
            condition = error_condition(answer)
            raise StanzaError(f"{stage}: {condition}", stage=stage, condition=condition)
        return answer

    def bind(self, resource: str = "jitsi-stack-probe") -> str:
        stage = "binding a resource"
        result = self.iq(
            "set", f"<bind xmlns='{BIND_NS}'><resource>{escape(resource)}</resource></bind>", stage
        )
        jid = result.find(f"{qname(BIND_NS, 'bind')}/{qname(BIND_NS, 'jid')}")
        self.jid = jid.text if jid is not None else None
        if not self.jid:
            raise NotXmppError("bind result carries no JID", stage=stage)
        # RFC 3921 session establishment, only when the server still requires it.
        session = self.features.find(qname(SESSION_NS, "session")) if self.features else None
        if session is not None and session.find(qname(SESSION_NS, "optional")) is None:
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
        conf = result.find(qname(FOCUS_NS, "conference"))
        if conf is None:
            raise NotXmppError("conference answer carries no <conference/>", stage="conference")
        props = {
            p.get("name", ""): p.get("value", "") for p in conf.findall(qname(FOCUS_NS, "property"))
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
            f"<presence xmlns='{CLIENT_NS}'{xml_attrs({'to': f'{room_jid}/{nick}'})}>"
            f"<x xmlns='{MUC_NS}'/></presence>",
            stage,
        )
        room = bare_jid(room_jid)

        def is_answer(el: ET.Element) -> bool:
            if el.tag != qname(CLIENT_NS, "presence") or bare_jid(el.get("from")) != room:
                return False
            return el.get("type") == "error" or "110" in _statuses(el)

        answer = self.wait_for(is_answer, stage)
        if answer.get("type") == "error":
            condition = error_condition(answer)
            raise StanzaError(f"MUC join refused: {condition}", stage=stage, condition=condition)
        return _statuses(answer)

    def leave_room(self, room_jid: str, nick: str) -> None:
        """Send unavailable presence and wait for the server to confirm (status 110)."""
        stage = "leaving the room"
        self.send(
            f"<presence xmlns='{CLIENT_NS}' type='unavailable'"
            f"{xml_attrs({'to': f'{room_jid}/{nick}'})}/>",
            stage,
        )
        room = bare_jid(room_jid)
        self.wait_for(
            lambda e: (
                e.tag == qname(CLIENT_NS, "presence")
                and bare_jid(e.get("from")) == room
                and e.get("type") in ("unavailable", "error")
            ),
            stage,
        )

    def external_services(self) -> list[dict[str, str]]:
        """The STUN/TURN servers and credentials prosody hands this session (XEP-0215, as
        lib-jitsi-meet asks the domain), one attribute dict per <service/>."""
        result = self.iq(
            "get", f"<services xmlns='{EXTDISCO_NS}'/>", "asking for TURN servers", to=self.domain
        )
        services = result.find(qname(EXTDISCO_NS, "services"))
        if services is None:
            return []
        return [dict(s.attrib) for s in services.findall(qname(EXTDISCO_NS, "service"))]

    def disco_items(self, jid: str) -> list[str]:
        result = self.iq("get", f"<query xmlns='{DISCO_ITEMS_NS}'/>", "disco#items", to=jid)
        query = result.find(qname(DISCO_ITEMS_NS, "query"))
        if query is None:
            return []
        return [item.get("jid", "") for item in query.findall(qname(DISCO_ITEMS_NS, "item"))]

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
    x = presence.find(qname(MUC_USER_NS, "x"))
    if x is None:
        return []
    return [s.get("code", "") for s in x.findall(qname(MUC_USER_NS, "status"))]


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
